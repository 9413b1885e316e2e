package clusterdns_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/build/buildtest"
)

// A relative `source file` path is the Corefile's neighbour, wherever the
// server was started from (the test runs in the package directory).
func TestSourceFileRelativeToCorefile(t *testing.T) {
	dir := t.TempDir()
	manifestsFile := "cluster-relative.yaml"
	if _, err := os.Stat(manifestsFile); err == nil {
		t.Fatalf("%s is in the working directory: the test would not tell", manifestsFile)
	}
	manifests(t, filepath.Join(dir, manifestsFile), 1)
	_, udp := buildtest.StartServerAt(t, filepath.Join(dir, "Corefile"), `cluster.local:0 {
    bind 127.0.0.1
    clusterdns {
        source file `+manifestsFile+`
    }
}`)
	m, err := dns.Exchange(new(dns.Msg).SetQuestion("web-0.prod.svc.cluster.local.", dns.TypeA), udp)
	if err != nil || len(m.Answer) != 1 {
		t.Fatalf("web-0.prod: %v %v", m, err)
	}
}

// A manifests file that cannot be loaded at start stops the server with an
// error naming the Corefile, its line, and the file as resolved.
func TestSourceFileErrorNamesCorefileLine(t *testing.T) {
	dir := t.TempDir()
	corefile := filepath.Join(dir, "Corefile")
	for _, tt := range []struct {
		name string
		path string // as the Corefile writes it
		want string // in the error, besides the Corefile's line
	}{
		{name: "relative", path: "missing.yaml", want: filepath.Join(dir, "missing.yaml") + ": no such file"},
		{name: "absolute", path: filepath.Join(dir, "gone.yaml"), want: filepath.Join(dir, "gone.yaml") + ": no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := caddy.Start(caddy.CaddyfileInput{Filepath: corefile, ServerTypeName: "dns", Contents: []byte(`cluster.local:0 {
    bind 127.0.0.1
    clusterdns {
        source file ` + tt.path + `
    }
}`)})
			if err == nil {
				inst.Stop()
				t.Fatal("the server started")
			}
			for _, want := range []string{corefile + ":4 - source file", tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)

				}
			}
		})
	}
}
