package podrun

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/clusterdns/clusterdns/test/manifests"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sys/unix"
)

// capNetBindService is CAP_NET_BIND_SERVICE's bit.
const capNetBindService = 10

// TestPodSpecs derives the runtime configuration of every kustomization's
// pod (deploy/ and each overlay) and checks, without running it, what
// TestPodRuns proves for the base: the image deploy/ names is a version and
// is the one `make image` built; the process is non-root with
// no_new_privs, a read-only root and no ambient capabilities; the Corefile
// is mounted unmodified; and the DNS port can be bound both ways, by the
// pod's sysctl and by the binary's file capability, so that a runtime that
// forbids the one or drops the other still serves.
func TestPodSpecs(t *testing.T) {
	shippedCorefile := corefile(t)
	// Unpacked once per image: the overlays name the same one.
	rootfsOf, unpacked := map[string]string{}, t.TempDir()
	for _, dir := range kustomizations(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			pod := shipped(t, manifests.Render(t, dir))
			ref, err := name.NewTag(pod.container.Image, name.StrictValidation)
			if err != nil {
				t.Fatalf("image %q: %v", pod.container.Image, err)
			}
			if ref.TagStr() == "latest" {
				t.Errorf("image %s: pin a version, not :latest", ref)
			}
			img, cf := loadImage(t, pod.container.Image)
			rootfs, ok := rootfsOf[pod.container.Image]
			if !ok {
				rootfs = filepath.Join(unpacked, strconv.Itoa(len(rootfsOf)))
				unpack(t, img, rootfs, true)
				rootfsOf[pod.container.Image] = rootfs
			}
			nd := &node{dir: t.TempDir(), token: "token", caPEM: []byte("ca"), apiHost: "10.96.0.1", apiPort: 443,
				netns: "/run/netns/none", resolv: "nameserver 192.0.2.1\n", hostname: "clusterdns"}
			spec := ociSpec(t, pod, cf, rootfs, nd)

			proc := spec.Process
			if proc.User.UID == 0 {
				t.Error("runs as root")
			}
			if !proc.NoNewPrivileges {
				t.Error("no_new_privs not set: allowPrivilegeEscalation must be false")
			}
			if !spec.Root.Readonly {
				t.Error("root filesystem writable")
			}
			if len(proc.Capabilities.Ambient) != 0 || len(proc.Capabilities.Inheritable) != 0 {
				t.Errorf("ambient %v inheritable %v: containerd sets neither", proc.Capabilities.Ambient, proc.Capabilities.Inheritable)
			}
			if got := proc.Capabilities.Permitted; !slices.Equal(got, []string{"CAP_NET_BIND_SERVICE"}) {
				t.Errorf("capabilities %v, want CAP_NET_BIND_SERVICE alone", got)
			}

			var mounted []byte
			for _, m := range spec.Mounts {
				if rel, err := filepath.Rel(m.Destination, "/etc/coredns/Corefile"); m.Type == "bind" && err == nil && filepath.IsLocal(rel) {
					mounted, _ = os.ReadFile(filepath.Join(m.Source, rel))
				}
			}
			if !bytes.Equal(mounted, shippedCorefile) {
				t.Errorf("/etc/coredns/Corefile is not corefiles/Corefile:\n%s", mounted)
			}

			port := dnsPort(pod)
			if port == 0 {
				t.Fatal("no UDP container port")
			}
			// The sysctl way: ports from its value up need no capability.
			start, ok := spec.Linux.Sysctl[unprivilegedPortStart]
			if v, err := strconv.Atoi(start); !ok || err != nil || v > port {
				t.Errorf("sysctl %s=%q: the non-root server cannot bind :%d where the runtime leaves it at 1024", unprivilegedPortStart, start, port)
			}
			// The capability way: the file's capability, effective, and
			// permitted to the process already (no_new_privs keeps only
			// what was permitted before execve).
			entry := filepath.Join(rootfs, filepath.Clean("/"+proc.Args[0]))
			buf := make([]byte, 64)
			n, err := unix.Lgetxattr(entry, "security.capability", buf)
			if err != nil || n < 12 {
				t.Fatalf("%s: security.capability: %v: the image carries no file capability", proc.Args[0], err)
			}
			magic, permitted := binary.LittleEndian.Uint32(buf), binary.LittleEndian.Uint32(buf[4:])
			if magic&1 == 0 || permitted&(1<<capNetBindService) == 0 {
				t.Errorf("%s: security.capability %x is not cap_net_bind_service=+ep", proc.Args[0], buf[:n])
			}
			if !slices.Contains(proc.Capabilities.Permitted, "CAP_NET_BIND_SERVICE") {
				t.Error("NET_BIND_SERVICE not added: under no_new_privs the file capability is not granted")
			}
		})
	}
}
