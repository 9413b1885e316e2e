package podrun

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// TestPrereqs runs .ci/prereqs, the first step of make test and CI, where
// apt-get is not on PATH and the DNS clients are missing: it must name the
// package and print the exact command, and fail before anything is built.
// With every tool there it passes.
func TestPrereqs(t *testing.T) {
	needRoot(t)
	script := filepath.Join(testkit.RepoRoot(t), ".ci", "prereqs")
	// What the script runs, without apt-get, dig and nslookup (knotd, ip
	// and runc are found in the sbin directories the script adds).
	have := []string{"id", "sed", "sort", "head", "dirname", "go", "make", "gcc", "unshare", "nsenter", "mount", "getent"}
	run := func(t *testing.T, extra ...string) (string, error) {
		bin := t.TempDir()
		for _, tool := range append(have, extra...) {
			path, err := exec.LookPath(tool)
			if err != nil {
				t.Fatalf("%s: %v", tool, err)
			}
			if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(script, "test")
		cmd.Env = append(os.Environ(), "PATH="+bin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("missing", func(t *testing.T) {
		out, err := run(t)
		if err == nil {
			t.Fatalf("passed without dig and nslookup:\n%s", out)
		}
		if want := "sudo apt-get install --no-install-recommends bind9-dnsutils\n"; !strings.HasSuffix(out, want) {
			t.Errorf("output %q, want it to end with the command %q", out, want)
		}
	})
	t.Run("present", func(t *testing.T) {
		if out, err := run(t, "dig", "nslookup"); err != nil {
			t.Errorf("%v:\n%s", err, out)
		}
	})
}
