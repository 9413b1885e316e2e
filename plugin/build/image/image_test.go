package image

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBuild builds an image around a stand-in binary and reads it back: the
// config runs /clusterdns as non-root with the Corefile's path, and the
// layer holds the binary, executable and carrying cap_net_bind_service=+ep,
// and the passwd entry for uid 65532.
func TestBuild(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "clusterdns")
	want := []byte("\x7fELF stand-in for clusterdns")
	if err := os.WriteFile(bin, want, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "image.tar")
	const ref = "example.invalid/clusterdns:test"
	digest, err := Build(bin, out, ref, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("User %q, want non-root 65532:65532", cf.Config.User)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{"/clusterdns"}) {
		t.Errorf("Entrypoint %q", cf.Config.Entrypoint)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"-conf", "/etc/coredns/Corefile"}) {
		t.Errorf("Cmd %q", cf.Config.Cmd)
	}
	for _, p := range []string{"53/udp", "53/tcp", "9153/tcp"} {
		if _, ok := cf.Config.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed: %v", p, cf.Config.ExposedPorts)
		}
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d (%v), want 1 on scratch", len(layers), err)
	}

	if d, _ := img.Digest(); d != digest {
		t.Errorf("Build returned digest %s, the tarball holds %s", digest, d)
	}

	files := map[string][]byte{}
	modes := map[string]int64{}
	xattrs := map[string]map[string]string{}
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], modes[h.Name], xattrs[h.Name] = data, h.Mode, h.PAXRecords
	}
	if !bytes.Equal(files["clusterdns"], want) {
		t.Errorf("/clusterdns in the layer is %q, want the binary", files["clusterdns"])
	}
	if modes["clusterdns"]&0o111 == 0 {
		t.Errorf("/clusterdns mode %o, not executable", modes["clusterdns"])
	}
	// cap_net_bind_service=+ep: VFS_CAP_REVISION_2 with the effective
	// flag, bit 10 (CAP_NET_BIND_SERVICE) alone permitted, none inheritable.
	capData := []byte(xattrs["clusterdns"]["SCHILY.xattr.security.capability"])
	if len(capData) != 20 {
		t.Fatalf("/clusterdns security.capability %x: want the 20 bytes of a revision 2 vfs_cap_data", capData)
	}
	le := func(i int) uint32 { return binary.LittleEndian.Uint32(capData[4*i:]) }
	if le(0) != 0x02000001 || le(1) != 1<<10 || le(2) != 0 || le(3) != 0 || le(4) != 0 {
		t.Errorf("/clusterdns security.capability %x, want cap_net_bind_service=+ep", capData)
	}
	if !strings.Contains(string(files["etc/passwd"]), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks nonroot 65532:\n%s", files["etc/passwd"])
	}

	// The same binary makes the same image.
	again := filepath.Join(dir, "again.tar")
	if _, err := Build(bin, again, ref, "amd64"); err != nil {
		t.Fatal(err)
	}
	img2, err := tarball.ImageFromPath(again, &tag)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Errorf("rebuild digest %s, first %s: not reproducible", d2, d1)
	}
}
