package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksTwoAPIGroups keeps the source from linking what would register
// every API group again (see client.go): client-go's clientset, its
// informer factory, or a k8s.io/api group besides the two it reads; nor
// mcs-api's clientset, whose scheme registers its groups at start even
// with the multicluster option off, or a version of mcs-api's group
// besides the one it reads.
func TestLinksTwoAPIGroups(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if bad := unwantedDeps(strings.Fields(string(out))); len(bad) > 0 {
		t.Errorf("the source links %v", bad)
	}
	// The check itself finds what it must.
	if bad := unwantedDeps([]string{"k8s.io/api/core/v1", "k8s.io/client-go/kubernetes", "k8s.io/api/apps/v1", "k8s.io/client-go/informers/core/v1",
		mcsAPI + "apis/v1alpha1", mcsAPI + "apis/v1beta1", mcsAPI + "client/clientset/versioned/typed/apis/v1alpha1"}); len(bad) != 5 {
		t.Errorf("unwantedDeps found %v, want the clientset, apps/v1, the informers, mcs-api's v1beta1 and its client", bad)
	}
}

const mcsAPI = "sigs.k8s.io/mcs-api/pkg/"

func unwantedDeps(deps []string) []string {
	var bad []string
	for _, d := range deps {
		switch {
		case d == "k8s.io/api/core/v1", d == "k8s.io/api/discovery/v1", d == mcsAPI+"apis/v1alpha1":
		case strings.HasPrefix(d, "k8s.io/api/"), strings.HasPrefix(d, mcsAPI),
			d == "k8s.io/client-go/kubernetes", strings.HasPrefix(d, "k8s.io/client-go/kubernetes/"),
			d == "k8s.io/client-go/informers", strings.HasPrefix(d, "k8s.io/client-go/informers/"):
			bad = append(bad, d)
		}
	}
	return bad
}
