package external

import (
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/fall"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		input    string
		keys     []string
		err      string
		zones    []string
		apex     string
		ttl      uint32
		headless bool
		fall     fall.F
	}{
		{name: "server block's zones", input: `k8s_external`, keys: []string{"example.org:53"}, zones: []string{"example.org."}, apex: "dns", ttl: 5},
		{name: "zones", input: `k8s_external example.org Example.NET`, zones: []string{"example.org.", "example.net."}, apex: "dns", ttl: 5},
		{name: "all options", input: `k8s_external example.org {
    apex testdns
    ttl 0
    headless
    fallthrough ip6.arpa foo.com
}`, zones: []string{"example.org."}, apex: "testdns", ttl: 0, headless: true, fall: fall.F{Zones: []string{"ip6.arpa.", "foo.com."}}},
		{name: "fallthrough everywhere", input: "k8s_external example.org {\nfallthrough\n}", zones: []string{"example.org."}, apex: "dns", ttl: 5, fall: fall.Root},
		{name: "ttl at most", input: "k8s_external example.org {\nttl 3600\n}", zones: []string{"example.org."}, apex: "dns", ttl: 3600},
		{name: "ttl too large", input: "k8s_external example.org {\nttl 3601\n}", err: "Testfile:2 - Error during parsing: ttl must be in range [0, 3600]: 3601"},
		{name: "ttl negative", input: "k8s_external example.org {\nttl -1\n}", err: "ttl must be in range"},
		{name: "ttl not a number", input: "k8s_external example.org {\nttl five\n}", err: `Testfile:2 - Error during parsing: ttl must be a number of seconds: "five"`},
		{name: "ttl without value", input: "k8s_external example.org {\nttl\n}", err: "Wrong argument count"},
		{name: "ttl with two", input: "k8s_external example.org {\nttl 5 6\n}", err: "Wrong argument count"},
		{name: "apex without value", input: "k8s_external example.org {\napex\n}", err: "Wrong argument count"},
		{name: "apex not a name", input: "k8s_external example.org {\napex a..b\n}", err: "apex must be a relative domain name"},
		{name: "headless with a value", input: "k8s_external example.org {\nheadless yes\n}", err: "Wrong argument count"},
		{name: "unknown option", input: "k8s_external example.org {\nresyncperiod 5\n}", err: `Testfile:2 - Error during parsing: unknown property "resyncperiod"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := caddy.NewTestController("dns", tc.input)
			c.ServerBlockKeys = tc.keys
			e, err := parse(c)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(e.Zones, tc.zones) || e.apex != tc.apex || e.ttl != tc.ttl || e.headless != tc.headless || !e.Fall.Equal(tc.fall) {
				t.Errorf("got zones %v apex %q ttl %d headless %v fall %v, want %v %q %d %v %v",
					e.Zones, e.apex, e.ttl, e.headless, e.Fall, tc.zones, tc.apex, tc.ttl, tc.headless, tc.fall)
			}
			if len(e.apexNames) != len(e.Zones) || len(e.Zones) > 0 && e.apexNames[0] != tc.apex+"."+tc.zones[0] {
				t.Errorf("apex names %v", e.apexNames)
			}
		})
	}
}
