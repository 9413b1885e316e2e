package podrun

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	corev1 "k8s.io/api/core/v1"
)

// The OCI runtime configuration the kubelet and containerd 1.7 (CRI-O
// alike) give the container of a pod spec: what ociSpec derives from the
// rendered manifests, so that a change in deploy/ changes what runs.

// defaultCaps are the capabilities containerd grants a non-privileged
// container before the pod's drop and add (containerd's oci.defaultUnixCaps,
// Docker's list).
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// serviceAccountDir is where the kubelet projects the ServiceAccount's
// token, the cluster's CA and the namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// node is what the kubelet has prepared on the node for one pod: the
// directories behind its volumes and the values only a cluster knows.
type node struct {
	dir       string // the pod's directory: volumes, etc-hosts, ...
	token     string // the ServiceAccount's bound token
	caPEM     []byte // the API server's CA (kube-root-ca.crt)
	apiHost   string // the kubernetes Service's clusterIP and port, as in
	apiPort   int    // KUBERNETES_SERVICE_HOST/PORT
	netns     string // the pod sandbox's network namespace
	resolv    string // the node's resolv.conf (dnsPolicy Default)
	hostname  string // the pod's name
	emptyDirs map[string]string
}

// capabilities applies the container's drop and add to containerd's
// defaults. containerd puts the result in the bounding, permitted and
// effective sets, never the inheritable or ambient ones: a non-root process
// keeps them across execve only where the binary carries them as file
// capabilities.
func capabilities(sc *corev1.SecurityContext) *specs.LinuxCapabilities {
	caps := slices.Clone(defaultCaps)
	if sc != nil && sc.Capabilities != nil {
		for _, d := range sc.Capabilities.Drop {
			if d == "ALL" {
				caps = nil
				break
			}
			caps = slices.DeleteFunc(caps, func(c string) bool { return c == "CAP_"+string(d) })
		}
		for _, a := range sc.Capabilities.Add {
			if c := "CAP_" + string(a); !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	return &specs.LinuxCapabilities{Bounding: caps, Permitted: caps, Effective: caps}
}

// user is the container's uid and gid: the container's securityContext,
// else the pod's, else the image's User.
func user(t testing.TB, p *shippedPod, cf *v1.ConfigFile) specs.User {
	t.Helper()
	var uid, gid *int64
	if psc := p.spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
	}
	if sc := p.container.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	imgUID, imgGID, _ := strings.Cut(cf.Config.User, ":")
	num := func(set *int64, image string) uint32 {
		if set != nil {
			return uint32(*set)
		}
		n, err := strconv.ParseUint(image, 10, 32)
		if err != nil {
			t.Fatalf("image user %q: not numeric, and the pod names no uid/gid", cf.Config.User)
		}
		return uint32(n)
	}
	u := specs.User{UID: num(uid, imgUID), GID: num(gid, imgGID)}
	u.AdditionalGids = []uint32{u.GID}
	if psc := p.spec.SecurityContext; psc != nil {
		for _, g := range psc.SupplementalGroups {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
		if psc.FSGroup != nil {
			u.AdditionalGids = append(u.AdditionalGids, uint32(*psc.FSGroup))
		}
	}
	return u
}

// volumes writes what the kubelet would into the node's pod directory and
// returns the container's mounts of it: its volumeMounts, the
// ServiceAccount's projected volume, and the files the runtime adds.
func volumes(t testing.TB, p *shippedPod, n *node) []specs.Mount {
	t.Helper()
	write := func(path string, data []byte, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	bind := func(dest, src string, readOnly bool) specs.Mount {
		opts := []string{"rbind", "rprivate", "rw"}
		if readOnly {
			opts[2] = "ro"
		}
		return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: opts}
	}
	roRoot := p.container.SecurityContext != nil && p.container.SecurityContext.ReadOnlyRootFilesystem != nil &&
		*p.container.SecurityContext.ReadOnlyRootFilesystem
	n.emptyDirs = map[string]string{}
	var mounts []specs.Mount
	for _, vm := range p.container.VolumeMounts {
		i := slices.IndexFunc(p.spec.Volumes, func(v corev1.Volume) bool { return v.Name == vm.Name })
		if i < 0 {
			t.Fatalf("volumeMount %s: no such volume", vm.Name)
		}
		v := p.spec.Volumes[i]
		host := filepath.Join(n.dir, "volumes", v.Name)
		switch {
		case v.ConfigMap != nil:
			cm := p.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Fatalf("volume %s: no ConfigMap %s in the manifests", v.Name, v.ConfigMap.Name)
			}
			items := v.ConfigMap.Items
			if items == nil {
				for k := range cm.Data {
					items = append(items, corev1.KeyToPath{Key: k, Path: k})
				}
			}
			for _, it := range items {
				data, ok := cm.Data[it.Key]
				if !ok {
					t.Fatalf("volume %s: ConfigMap %s has no key %s", v.Name, cm.Name, it.Key)
				}
				write(filepath.Join(host, it.Path), []byte(data), 0o644)
			}
			// The kubelet mounts ConfigMap volumes read-only whatever the
			// volumeMount says.
			mounts = append(mounts, bind(vm.MountPath, host, true))
		case v.EmptyDir != nil:
			// World-writable, as the kubelet makes it: the pod's non-root
			// user writes there.
			if err := os.MkdirAll(host, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(host, 0o777); err != nil {
				t.Fatal(err)
			}
			n.emptyDirs[vm.MountPath] = host
			mounts = append(mounts, bind(vm.MountPath, host, vm.ReadOnly))
		default:
			t.Fatalf("volume %s: only configMap and emptyDir volumes are handled here", v.Name)
		}
	}
	if a := p.spec.AutomountServiceAccountToken; a == nil || *a {
		sa := filepath.Join(n.dir, "volumes", "kube-api-access")
		write(filepath.Join(sa, "token"), []byte(n.token), 0o644)
		write(filepath.Join(sa, "ca.crt"), n.caPEM, 0o644)
		write(filepath.Join(sa, "namespace"), []byte(p.namespace), 0o644)
		mounts = append(mounts, bind(serviceAccountDir, sa, true))
	}
	if p.spec.DNSPolicy != corev1.DNSDefault {
		t.Fatalf("dnsPolicy %s: only Default (the node's resolv.conf) is handled here", p.spec.DNSPolicy)
	}
	for dest, data := range map[string]string{
		"/etc/resolv.conf": n.resolv,
		"/etc/hostname":    n.hostname + "\n",
		"/etc/hosts":       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
	} {
		src := filepath.Join(n.dir, filepath.Base(dest))
		write(src, []byte(data), 0o644)
		mounts = append(mounts, bind(dest, src, roRoot))
	}
	termination := p.container.TerminationMessagePath
	if termination == "" {
		termination = corev1.TerminationMessagePathDefault
	}
	write(filepath.Join(n.dir, "termination-log"), nil, 0o666)
	return append(mounts, bind(termination, filepath.Join(n.dir, "termination-log"), false))
}

// ociSpec is the runtime configuration of the pod's container on the node.
func ociSpec(t testing.TB, p *shippedPod, cf *v1.ConfigFile, rootfs string, n *node) *specs.Spec {
	t.Helper()
	c, sc := p.container, p.container.SecurityContext
	args := cf.Config.Entrypoint
	if c.Command != nil {
		args = c.Command
	}
	if c.Args != nil {
		args = append(slices.Clone(args), c.Args...)
	} else if c.Command == nil {
		args = append(slices.Clone(args), cf.Config.Cmd...)
	}
	env := slices.Clone(cf.Config.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	env = append(env, "HOSTNAME="+n.hostname,
		"KUBERNETES_SERVICE_HOST="+n.apiHost, fmt.Sprintf("KUBERNETES_SERVICE_PORT=%d", n.apiPort))
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s: valueFrom is not handled here", e.Name)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = cf.Config.WorkingDir
	}
	if cwd == "" {
		cwd = "/"
	}
	noNewPrivs := sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
	if sc != nil && sc.Privileged != nil && *sc.Privileged {
		t.Fatal("a privileged container is not handled here")
	}
	sysctls := map[string]string{}
	if psc := p.spec.SecurityContext; psc != nil {
		for _, s := range psc.Sysctls {
			sysctls[s.Name] = s.Value
		}
	}
	var resources specs.LinuxResources
	resources.Devices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		limit := mem.Value()
		resources.Memory = &specs.LinuxMemory{Limit: &limit}
	}
	if cpu, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		shares := uint64(cpu.MilliValue() * 1024 / 1000) // the kubelet's MilliCPUToShares
		resources.CPU = &specs.LinuxCPU{Shares: &shares}
	}
	mounts := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
	mounts = append(mounts, volumes(t, p, n)...)
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User:            user(t, p, cf),
			Args:            args,
			Env:             env,
			Cwd:             cwd,
			Capabilities:    capabilities(sc),
			NoNewPrivileges: noNewPrivs,
		},
		Root:     &specs.Root{Path: rootfs, Readonly: sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		Hostname: n.hostname,
		Mounts:   mounts,
		Linux: &specs.Linux{
			Sysctl:    sysctls,
			Resources: &resources,
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
				{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: n.netns},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
				"/sys/firmware", "/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}
