package clusterdns

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPodSearchLists checks the three search lists built on searchList:
// AutoPath's is the kubernetes plugin's, every server domain kept;
// explain's is the kubelet's, without duplicates and at most 32; the
// search_path walk is the kubelet's list after the pod's own first name.
func TestPodSearchLists(t *testing.T) {
	var many []string
	for i := range 40 {
		many = append(many, strings.Repeat("x", i+1)+".example.")
	}
	for _, tc := range []struct {
		name    string
		zone    string
		domains []string
		// want* are the lists of a pod of namespace prod; nil: only the
		// length is checked, against want*Len.
		wantAutoPath, wantExplain, wantWalk          []string
		wantAutoPathLen, wantExplainLen, wantWalkLen int
	}{
		{
			name:    "duplicates",
			zone:    "cluster.local.",
			domains: []string{"example.internal.", "cluster.local.", "prod.svc.cluster.local.", "svc.cluster.local.", "example.internal.", "corp.example."},
			wantAutoPath: []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.",
				"example.internal.", "cluster.local.", "prod.svc.cluster.local.", "svc.cluster.local.", "example.internal.", "corp.example.", ""},
			wantExplain: []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "example.internal.", "corp.example."},
			// The walk is built before the namespace is known: a node
			// domain that is one namespace's first name stays.
			wantWalk: []string{"svc.cluster.local.", "cluster.local.", "example.internal.", "prod.svc.cluster.local.", "corp.example.", ""},
		},
		{
			name:         "root zone",
			zone:         ".",
			domains:      []string{"example.internal."},
			wantAutoPath: []string{"prod.svc.", "svc.", ".", "example.internal.", ""},
			wantExplain:  []string{"prod.svc.", "svc.", ".", "example.internal."},
			wantWalk:     []string{"svc.", ".", "example.internal.", ""},
		},
		{
			name:         "no server domains",
			zone:         "cluster.local.",
			wantAutoPath: []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local.", ""},
			wantExplain:  []string{"prod.svc.cluster.local.", "svc.cluster.local.", "cluster.local."},
			wantWalk:     []string{"svc.cluster.local.", "cluster.local.", ""},
		},
		{
			// The kubelet keeps 32 names: <ns>.svc, svc, the zone and 29
			// of the node's; the walk has the 31 after the first, then the
			// name as it is. The kubernetes plugin keeps all of them.
			name:            "more than the kubelet keeps",
			zone:            "cluster.local.",
			domains:         many,
			wantAutoPathLen: 3 + 40 + 1,
			wantExplainLen:  32,
			wantWalkLen:     31 + 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cd := New([]string{tc.zone})
			cd.cfg.autoPath = newAutoPathWalks(cd.Zones, tc.domains)
			cd.cfg.explain.nodeSearch = tc.domains
			explain, _ := cd.podSearch("Prod", tc.zone)
			for _, got := range []struct {
				list, want []string
				wantLen    int
				of         string
			}{
				{list: cd.autoPathList("prod", tc.zone), want: tc.wantAutoPath, wantLen: tc.wantAutoPathLen, of: "AutoPath"},
				{list: explain, want: tc.wantExplain, wantLen: tc.wantExplainLen, of: "explain"},
				{list: newZoneWalk(tc.zone, tc.domains).suffixes, want: tc.wantWalk, wantLen: tc.wantWalkLen, of: "the search_path walk"},
			} {
				switch {
				case got.want != nil && !slices.Equal(got.list, got.want):
					t.Errorf("%s: %q, want %q", got.of, got.list, got.want)
				case got.want == nil && len(got.list) != got.wantLen:
					t.Errorf("%s: %d names, want %d", got.of, len(got.list), got.wantLen)
				}
			}
		})
	}
}

// TestNodeSearch reads the node's search domains from the server's
// resolv.conf under the one policy of every option that needs them: a
// missing file gives none, a bad one fails at the option's line (pods
// verified alone, as the kubernetes plugin, goes on without).
func TestNodeSearch(t *testing.T) {
	const all = "clusterdns {\n pods verified\n explain {\n history\n }\n search_path\n}"
	for _, tc := range []struct {
		name  string
		conf  string // the server's resolv.conf; "" none, "/" a directory
		input string
		err   string
		// want are the node's domains each option got.
		want []string
	}{
		{name: "every option", conf: "search Corp.Example\n", input: all, want: []string{"corp.example."}},
		{name: "missing", input: all},
		{name: "unreadable, every option", conf: "/", input: all, err: "Testfile:3 - Error during parsing: explain: "},
		{name: "unreadable, pods verified alone: none, as the kubernetes plugin", conf: "/", input: "clusterdns {\n pods verified\n}"},
		{name: "bad, explain", conf: "search bad..example\n", input: "clusterdns {\n explain {\n history\n }\n}", err: `Testfile:2 - Error during parsing: explain: `},
		{name: "bad, search_path", conf: "search bad..example\n", input: "clusterdns {\n ttl 3\n search_path\n}", err: `Testfile:3 - Error during parsing: search_path: `},
		{name: "bad, not needed", conf: "search bad..example\n", input: "clusterdns {\n pods insecure\n explain {\n search corp.example\n }\n search_path {\n resolv_conf " + writeResolvConf(t, "") + "\n }\n}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing")
			switch tc.conf {
			case "":
			case "/":
				path = t.TempDir()
			default:
				path = writeResolvConf(t, tc.conf)
			}
			saved := defaultResolvConf
			defaultResolvConf = path
			t.Cleanup(func() { defaultResolvConf = saved })
			cd, err := parse(newController(tc.input))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.input != all {
				return
			}
			walk := slices.DeleteFunc(slices.Clone(cd.cfg.search.walks[0].suffixes), func(s string) bool { return s == "" || strings.HasSuffix(s, "cluster.local.") })
			for of, got := range map[string][]string{"AutoPath": autoPathDomains(cd), "explain": cd.cfg.explain.nodeSearch, "search_path": walk} {
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s: node domains %q, want %q", of, got, tc.want)
				}
			}
		})
	}
}

// autoPathDomains are the server's domains in cd's AutoPath list of
// cluster.local.
func autoPathDomains(cd *ClusterDNS) []string {
	w := walkOf(cd.cfg.autoPath, "cluster.local.")
	if w == nil {
		return nil
	}
	return w.suffixes[2 : len(w.suffixes)-1]
}
