package testkit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBinDir(t *testing.T) {
	t.Run("environment", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv(EnvTestBin, dir)
		got, err := BinDir()
		if err != nil || got != dir {
			t.Fatalf("BinDir() = %q, %v; want %q", got, err, dir)
		}
	})
	t.Run("module root", func(t *testing.T) {
		t.Setenv(EnvTestBin, "")
		got, err := BinDir()
		if err != nil {
			t.Fatal(err)
		}
		// go test runs in this package's directory, test/testkit.
		wd, _ := os.Getwd()
		if want := filepath.Join(filepath.Dir(wd), "bin"); got != want {
			t.Errorf("BinDir() = %q, want %q", got, want)
		}
	})
}
