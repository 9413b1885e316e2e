package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksTwoAPIGroups keeps the source from linking what would register
// every API group again (see client.go): client-go's clientset, its
// informer factory, or a k8s.io/api group besides the two it reads.
func TestLinksTwoAPIGroups(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if bad := unwantedDeps(strings.Fields(string(out))); len(bad) > 0 {
		t.Errorf("the source links %v", bad)
	}
	// The check itself finds what it must.
	if bad := unwantedDeps([]string{"k8s.io/api/core/v1", "k8s.io/client-go/kubernetes", "k8s.io/api/apps/v1", "k8s.io/client-go/informers/core/v1"}); len(bad) != 3 {
		t.Errorf("unwantedDeps found %v, want the clientset, apps/v1 and the informers", bad)
	}
}

func unwantedDeps(deps []string) []string {
	var bad []string
	for _, d := range deps {
		switch {
		case d == "k8s.io/api/core/v1", d == "k8s.io/api/discovery/v1":
		case strings.HasPrefix(d, "k8s.io/api/"),
			d == "k8s.io/client-go/kubernetes", strings.HasPrefix(d, "k8s.io/client-go/kubernetes/"),
			d == "k8s.io/client-go/informers", strings.HasPrefix(d, "k8s.io/client-go/informers/"):
			bad = append(bad, d)
		}
	}
	return bad
}
