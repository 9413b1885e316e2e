package testkit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
