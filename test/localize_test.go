package test

import (
	"path/filepath"
	"testing"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// newLocal allocates the ports and writes the files a shipped Corefile is
// localized to (testkit.Localize): the demo manifest, an API server that
// refuses connections (https://127.0.0.1:<closed port>) with its
// kubeconfig, TLS files and a snapshot path in the test's temp dir.
func newLocal(t *testing.T) testkit.Local {
	t.Helper()
	dir := t.TempDir()
	l := testkit.Local{
		DNS:       testkit.FreePort(t),
		Health:    testkit.FreePort(t),
		Ready:     testkit.FreePort(t),
		Metrics:   testkit.FreePort(t),
		Explain:   testkit.FreePort(t),
		Manifest:  testkit.RepoPath(t, "corefiles/demo-cluster.yaml"),
		APIServer: "https://" + testkit.Loopback(testkit.FreePort(t)), // nothing listens there
	}
	l.Kubeconfig = filepath.Join(dir, "kubeconfig")
	l.Snapshot = filepath.Join(dir, "snapshot")
	writeKubeconfig(t, l)
	pki := newClientPKI(t)
	l.TLSCert, l.TLSKey, l.TLSCA = pki.cert, pki.key, pki.ca
	return l
}

// writeKubeconfig writes l's kubeconfig for its unreachable API server, with
// a dummy token, whose current context is "test", plus the contexts named in
// extra.
func writeKubeconfig(t *testing.T, l testkit.Local, extra ...string) {
	t.Helper()
	err := testkit.WriteKubeconfig(l.Kubeconfig, testkit.Kubeconfig{
		Server:   l.APIServer,
		Token:    "dummy-token-for-tests",
		Contexts: append([]string{"test"}, extra...),
	})
	if err != nil {
		t.Fatal(err)
	}
}

// localize rewrites a shipped Corefile to run on loopback for a test (see
// testkit.Localize), and fails the test if it cannot, or if anything in it
// still points at a fixed port or the host's resolv.conf.
func localize(t *testing.T, corefile string, l testkit.Local) string {
	t.Helper()
	out, err := testkit.Localize(corefile, l)
	if err != nil {
		t.Fatalf("localize: %v\nCorefile:\n%s", err, corefile)
	}
	// `kubeconfig FILE CONTEXT`: the kubeconfig gets the context.
	if contexts := testkit.KubeconfigContexts(out); len(contexts) > 0 {
		writeKubeconfig(t, l, contexts...)
	}
	return out
}
