package testkit

import (
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// What WriteKubeconfig writes is what client-go reads: the server, the
// embedded CA or no verification, the token, every context.
func TestWriteKubeconfig(t *testing.T) {
	ca := NewCertificate(t, caTemplate("kubeconfig-test-ca"), nil)
	for _, k := range []Kubeconfig{
		{Server: "https://127.0.0.1:6443", CA: ca.PEM(), Token: "secret"},
		{Server: "https://127.0.0.1:6444", Token: "other", Contexts: []string{"test", "prod"}},
	} {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := WriteKubeconfig(path, k); err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.LoadFromFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(k.Contexts)
		if want == nil {
			want = []string{"default"}
		}
		current := want[0]
		var got []string
		for name := range cfg.Contexts {
			got = append(got, name)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) || cfg.CurrentContext != current {
			t.Errorf("contexts %v (current %q), want %v", got, cfg.CurrentContext, want)
		}
		rest, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		if rest.Host != k.Server || rest.BearerToken != k.Token || string(rest.CAData) != string(k.CA) || rest.Insecure != (k.CA == nil) {
			t.Errorf("client config %s token %q CA %d bytes insecure %v, want %+v", rest.Host, rest.BearerToken, len(rest.CAData), rest.Insecure, k)
		}
	}
}
