package clusterdns

import (
	"regexp"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

// errorNamesLine is how a Corefile error names its place: caddy's
// "<file>:<line> - Error during parsing: ...".
var errorNamesLine = regexp.MustCompile(`Testfile:\d+ - `)

// FuzzParse feeds arbitrary Corefile stanzas to the parser: it must never
// panic, and every error it returns must name the line, as an operator
// fixing a typo in a ConfigMap needs.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"clusterdns",
		"clusterdns cluster.local in-addr.arpa ip6.arpa {\n pods insecure\n fallthrough in-addr.arpa ip6.arpa\n ttl 30\n}",
		"clusterdns {\n pods verified\n endpoint_pod_names\n namespaces a b\n labels app=web\n}",
		"clusterdns {\n namespace_labels team in (a,b)\n ignore empty_service\n noendpoints\n}",
		"clusterdns {\n startup_timeout 3s\n apiserver_qps 50\n apiserver_burst 100\n apiserver_max_inflight 10\n}",
		"clusterdns {\n kubeconfig /nonexistent ctx\n}",
		"clusterdns {\n endpoint https://127.0.0.1:6443\n tls cert key ca\n}",
		"clusterdns {\n search_path {\n resolv_conf /nonexistent\n }\n}",
		"clusterdns {\n source file /nonexistent\n}",
		"clusterdns {\n ttl 3601\n}",
		"clusterdns {\n multicluster clusterset.local\n}",
		"clusterdns {\n pods\n}",
		"clusterdns {\n}",
		"clusterdns cluster.local {\n fallthrough\n}\nclusterdns",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		// CoreDNS calls setup only for a stanza that starts with the
		// directive.
		if !strings.HasPrefix(input, "clusterdns") {
			input = "clusterdns " + input
		}
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"cluster.local:53"}
		cd, err := parse(c)
		if err != nil {
			if !errorNamesLine.MatchString(err.Error()) {
				t.Fatalf("error does not name the line: %q\ninput:\n%s", err, input)
			}
			return
		}
		if cd == nil {
			t.Fatalf("no error and no plugin for\n%s", input)
		}
		if len(cd.Zones) == 0 || strings.Contains(strings.Join(cd.Zones, ""), " ") {
			t.Fatalf("zones %q from\n%s", cd.Zones, input)
		}
	})
}
