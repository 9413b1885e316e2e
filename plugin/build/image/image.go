// Package image builds the clusterdns container image without a container
// engine: a static, CGO-free clusterdns binary on an empty base (FROM
// scratch), with an /etc/passwd that names the non-root user 65532 it runs
// as. It writes a `docker save` tarball, which `docker load`, `podman load`,
// `kind load image-archive` and crane read; nothing is pulled or pushed.
//
// cmd/clusterdns-image is its command line (make image).
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// nonroot is the uid and gid the image runs as, distroless's "nonroot"; the
// Deployment's securityContext names the same.
const nonroot = 65532

// Build writes the image of a static binary for arch to out, a tarball
// recording the reference tag, and returns the image's digest (what a
// registry names it by once pushed).
func Build(binary, out, tag, arch string) (v1.Hash, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := Image(binary, arch)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// Image is the binary at /clusterdns in one layer on scratch, with its
// config. Timestamps are zero: the same binary makes the same image.
func Image(binary, arch string) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint: []string{"/clusterdns"},
		Cmd:        []string{"-conf", "/etc/coredns/Corefile"},
		WorkingDir: "/",
		ExposedPorts: map[string]struct{}{
			"53/udp":   {},
			"53/tcp":   {},
			"9153/tcp": {},
		},
		Labels: map[string]string{
			"org.opencontainers.image.source": "https://github.com/clusterdns/clusterdns",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// netBindService is the file capability cap_net_bind_service=+ep, as
// `setcap` writes it into the security.capability xattr: struct
// vfs_cap_data, revision 2 (little endian): magic and the effective flag,
// then permitted and inheritable, low 32 bits and high 32 bits.
// CAP_NET_BIND_SERVICE is bit 10.
//
// It is why the non-root server can bind :53. The kubelet puts an added
// capability into the bounding, permitted and effective sets of the
// container's first process, but a non-root process loses its capabilities
// at execve unless the binary carries them (ambient capabilities would
// carry them, and runtimes do not set those). Under no_new_privs
// (allowPrivilegeEscalation: false) the file's capability is still granted,
// because the process had it permitted already. Stock CoreDNS's image does
// the same (setcap cap_net_bind_service=+ep). Runtimes keep it when their
// snapshotter preserves xattrs (overlayfs, native); the Deployment also
// sets net.ipv4.ip_unprivileged_port_start=0 for those that do not.
var netBindService = string([]byte{
	0x01, 0x00, 0x00, 0x02, // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	0x00, 0x04, 0x00, 0x00, // permitted, caps 0-31: 1<<10
	0x00, 0x00, 0x00, 0x00, // inheritable, caps 0-31
	0x00, 0x00, 0x00, 0x00, // permitted, caps 32-63
	0x00, 0x00, 0x00, 0x00, // inheritable, caps 32-63
})

// capabilityXattr is the PAX record that carries the binary's file
// capability in the layer, as the runtimes' unpackers read it.
const capabilityXattr = "SCHILY.xattr.security.capability"

// rootfs is the layer: /clusterdns with its file capability, and /etc/passwd
// and /etc/group naming root and nonroot (for tools that map the uid to a
// name; clusterdns does not need them). No CA certificates: clusterdns
// reaches the API server with the CA of its ServiceAccount token.
func rootfs(bin []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte, pax map[string]string) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX, PAXRecords: pax}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonroot)
	for _, err := range []error{
		dir("etc/"),
		file("etc/passwd", 0o644, []byte(passwd), nil),
		file("etc/group", 0o644, []byte(group), nil),
		file("clusterdns", 0o755, bin, map[string]string{capabilityXattr: netBindService}),
	} {
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
