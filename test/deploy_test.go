package test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// TestDeployCorefileMatchesShipped keeps one source of truth: the
// ConfigMap kustomize generates from deploy/base/Corefile must be the shipped
// corefiles/Corefile (kustomize reads only files below deploy/, hence the
// copy).
func TestDeployCorefileMatchesShipped(t *testing.T) {
	root := testkit.RepoRoot(t)
	shipped, err := os.ReadFile(filepath.Join(root, "corefiles", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := os.ReadFile(filepath.Join(root, "deploy", "base", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shipped, deployed) {
		t.Fatal("deploy/base/Corefile differs from corefiles/Corefile: copy corefiles/Corefile to deploy/base/Corefile")
	}
}
