package testkit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mainModule is the path of the module whose root ModuleRoot finds.
const mainModule = "github.com/clusterdns/clusterdns"

// ModuleRoot returns the directory of the main module's go.mod, found by
// walking up from the working directory: go test runs in the package's
// directory, anywhere in the module or in a nested one (test/bench), and a
// source file's own path is useless under -trimpath.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", mainModule)
		}
		dir = parent
	}
}

// RepoRoot is ModuleRoot for a test, which fails without it.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatalf("repository root: %v", err)
	}
	return root
}

// RepoPath returns the absolute path of rel, a slash-separated path in the
// repository.
func RepoPath(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(RepoRoot(tb), filepath.FromSlash(rel))
}

// RepoFile returns the content of rel, a slash-separated path in the
// repository: a shipped Corefile, a manifest, README.md.
func RepoFile(tb testing.TB, rel string) string {
	tb.Helper()
	data, err := os.ReadFile(RepoPath(tb, rel))
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// EnvTestBin names the environment variable that overrides where the test
// bed's binaries (and stock CoreDNS, and kwok's stages) are looked for.
const EnvTestBin = "CLUSTERDNS_TESTBIN"

// BinDir finds the test bed's binaries, which `make testbed` builds:
// $CLUSTERDNS_TESTBIN, else test/bin of the main module.
func BinDir() (string, error) {
	if dir := os.Getenv(EnvTestBin); dir != "" {
		return filepath.Abs(dir)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("%w; set %s", err, EnvTestBin)
	}
	return filepath.Join(root, "test", "bin"), nil
}

func isMainModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == mainModule
		}
	}
	return false
}
