package podrun

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// imagePath is the tarball `make image` writes ($CLUSTERDNS_IMAGE, which the
// Makefile sets).
func imagePath(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CLUSTERDNS_IMAGE")
	if path == "" {
		path = filepath.Join(testkit.RepoRoot(t), "bin", "clusterdns-image.tar")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the image: %v (run `make image`)", err)
	}
	return path
}

// loadImage reads the image the Deployment names from the tarball: a
// tarball of another tag is not the image deploy/ would pull.
func loadImage(t testing.TB, ref string) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		t.Fatalf("image %q: %v: deploy/ must name a tag", ref, err)
	}
	path := imagePath(t)
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("%s holds no image %s (%v): `make image` builds the one deploy/ names", path, ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return img, cf
}

// unpack writes the image's layers into dir as a runtime's snapshotter
// does, file capabilities included: the PAX records SCHILY.xattr.* become
// extended attributes (containerd's and CRI-O's unpackers do the same).
// With keepXattrs false it stands for a snapshotter that drops them.
func unpack(t testing.TB, img v1.Image, dir string, keepXattrs bool) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	// The root as a snapshot's: readable by the container's non-root user.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		err = untar(rc, dir, keepXattrs)
		rc.Close()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
	}
}

func untar(r io.Reader, dir string, keepXattrs bool) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		clean := filepath.Clean("/" + h.Name)
		if strings.Contains(filepath.Base(clean), ".wh.") {
			return fmt.Errorf("%s: whiteouts are not handled (the image has one layer on scratch)", h.Name)
		}
		path := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, path)
		default:
			err = fmt.Errorf("type %c not handled", h.Typeflag)
		}
		if err == nil {
			err = os.Lchown(path, h.Uid, h.Gid)
		}
		if err == nil && h.Typeflag != tar.TypeSymlink {
			// After chown, which clears set-id bits.
			err = os.Chmod(path, os.FileMode(h.Mode&0o777))
		}
		for key, value := range h.PAXRecords {
			attr, ok := strings.CutPrefix(key, "SCHILY.xattr.")
			if !ok || !keepXattrs || err != nil {
				continue
			}
			// Last: chown clears security.capability.
			err = unix.Lsetxattr(path, attr, []byte(value), 0)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

func writeFile(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
