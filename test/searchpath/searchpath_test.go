package searchpath

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// searchPathOption turns the server-side search path on; the node's
// resolv.conf is the server's own in a cluster, here a file of the bed.
const searchPathOption = `        search_path {
            resolv_conf %s/node-resolv.conf
        }`

// answer is the final result of a lookup, as a stub resolver reports it.
type answer struct {
	// Name is the name the records belong to: glibc's canonical name,
	// the owner in dig's answer, nslookup's "Name:".
	Name string
	// Records are the addresses (or, for dig, "TYPE DATA" of the records
	// other than CNAMEs), sorted; Status is how the lookup failed, if it
	// did.
	Records []string
	Status  string
	// Aliases are the other names glibc's gethostbyname reports.
	Aliases []string
}

func (a answer) String() string {
	s := a.Name + " " + strings.Join(a.Records, ",")
	if a.Status != "" {
		s += " " + a.Status
	}
	return s
}

// resolver is a stub resolver, run in the pod.
type resolver struct {
	name string
	// command is the command line resolving name (of type qtype, where the
	// resolver takes one).
	command func(name, qtype string) []string
	parse   func(out string, exit int) answer
}

// getent is the resolver of getent's database db (ahosts, hosts), which
// prints a line per address: line reads one into a, i its index. getent
// reports a failed lookup only by its exit status.
func getent(db string, line func(a *answer, i int, f []string)) resolver {
	return resolver{
		name:    "getent " + db,
		command: func(name, _ string) []string { return []string{"getent", db, name} },
		parse: func(out string, exit int) answer {
			if exit != 0 {
				return answer{Status: fmt.Sprintf("exit %d", exit)}
			}
			var a answer
			for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
				line(&a, i, strings.Fields(l))
			}
			slices.Sort(a.Records)
			return a
		},
	}
}

var (
	// ahosts is getaddrinfo: "ADDRESS SOCKTYPE [NAME]", a line per address
	// and socket type, the canonical name on the first.
	ahosts = getent("ahosts", func(a *answer, i int, f []string) {
		if i == 0 && len(f) > 2 {
			a.Name = f[2]
		}
		if len(f) > 0 && !slices.Contains(a.Records, f[0]) {
			a.Records = append(a.Records, f[0])
		}
	})
	// hosts is gethostbyname: "ADDRESS NAME ALIAS...".
	hosts = getent("hosts", func(a *answer, _ int, f []string) {
		if len(f) < 2 {
			return
		}
		a.Records = append(a.Records, f[0])
		a.Name, a.Aliases = f[1], f[2:]
	})

	dig = resolver{
		name: "dig +search",
		command: func(name, qtype string) []string {
			return []string{"dig", "+search", "+noall", "+comments", "+answer", "+tries=1", "+time=5", qtype, name}
		},
		parse: func(out string, _ int) answer {
			var a answer
			if m := digStatus.FindAllStringSubmatch(out, -1); len(m) > 0 {
				if s := m[len(m)-1][1]; s != "NOERROR" {
					a.Status = s
				}
			}
			for _, line := range strings.Split(out, "\n") {
				f := strings.Fields(line)
				if len(f) < 5 || strings.HasPrefix(line, ";") || f[3] == "CNAME" {
					continue
				}
				a.Name = f[0]
				a.Records = append(a.Records, strings.Join(f[3:], " "))
			}
			slices.Sort(a.Records)
			if a.Status == "" && len(a.Records) == 0 {
				a.Status = "NODATA"
			}
			return a
		},
	}
	nslookup = resolver{
		name:    "nslookup",
		command: func(name, _ string) []string { return []string{"nslookup", "-timeout=5", "-retry=1", name} },
		parse: func(out string, _ int) answer {
			var a answer
			if m := nslookupError.FindStringSubmatch(out); m != nil {
				a.Status = m[1]
			}
			for _, line := range strings.Split(out, "\n") {
				if name, ok := strings.CutPrefix(line, "Name:"); ok {
					a.Name = strings.TrimSpace(name)
				}
				if addr, ok := strings.CutPrefix(line, "Address: "); ok && a.Name != "" {
					a.Records = append(a.Records, strings.TrimSpace(addr))
				}
			}
			slices.Sort(a.Records)
			return a
		},
	}
	digStatus     = regexp.MustCompile(`status: (\w+)`)
	nslookupError = regexp.MustCompile(`server can't find \S+: (\w+)`)
)

// lookup is a name a pod of namespace prod resolves, and what a real
// cluster does with it.
type lookup struct {
	resolver resolver
	name     string
	qtype    string // for dig
	want     answer
	// walk is the names the client asks, in the order of its search list
	// (each with every type it asks), and answers which of them exist;
	// every other name must be NXDOMAIN for every type.
	walk    []string
	answers string
	// queries is how many queries the client sends: for glibc, A and AAAA
	// per name.
	queries int
	// own is how many lookups the server makes itself without search_path:
	// those of the targets of ExternalName services.
	own int
	// completed is how many queries the client sends with search_path.
	completed int
}

const (
	webIP     = "10.96.100.10"
	wwwV4     = "192.0.2.80"
	wwwV6     = "2001:db8::80"
	v4onlyIP  = "192.0.2.4"
	host1IP   = "192.0.2.10"
	stagingIP = "10.96.200.10"
	podIP     = "10.244.1.7"
)

// expand returns name under every domain of the pod's search list, and
// then as it is: a pod's walk for a name with fewer than five dots.
func expand(name string) []string {
	return []string{
		name + ".prod.svc.cluster.local.",
		name + ".svc.cluster.local.",
		name + ".cluster.local.",
		name + ".example.internal.",
		name + ".",
	}
}

// lookups are the names the tests resolve. Without the server-side search
// path, each must walk exactly as in a real cluster.
var lookups = []lookup{
	{resolver: ahosts, name: "web",
		want: answer{Name: "web.prod.svc.cluster.local", Records: []string{webIP}},
		walk: expand("web")[:1], answers: "web.prod.svc.cluster.local.", queries: 2, completed: 2},
	{resolver: ahosts, name: "web.prod",
		want: answer{Name: "web.prod.svc.cluster.local", Records: []string{webIP}},
		walk: expand("web.prod")[:2], answers: "web.prod.svc.cluster.local.", queries: 4, completed: 2},
	{resolver: ahosts, name: "web.prod.svc",
		want: answer{Name: "web.prod.svc.cluster.local", Records: []string{webIP}},
		walk: expand("web.prod.svc")[:3], answers: "web.prod.svc.cluster.local.", queries: 6, completed: 2},
	{resolver: ahosts, name: "web.prod.svc.cluster.local",
		want: answer{Name: "web.prod.svc.cluster.local", Records: []string{webIP}},
		walk: expand("web.prod.svc.cluster.local"), answers: "web.prod.svc.cluster.local.", queries: 10, completed: 2},
	{resolver: ahosts, name: "web.staging",
		want: answer{Name: "web.staging.svc.cluster.local", Records: []string{stagingIP}},
		walk: expand("web.staging")[:2], answers: "web.staging.svc.cluster.local.", queries: 4, completed: 2},
	{resolver: ahosts, name: "10-244-1-7.prod.pod",
		want: answer{Name: "10-244-1-7.prod.pod.cluster.local", Records: []string{podIP}},
		walk: expand("10-244-1-7.prod.pod")[:3], answers: "10-244-1-7.prod.pod.cluster.local.", queries: 6, completed: 2},
	{resolver: ahosts, name: "search",
		want: answer{Name: "www.example.org", Records: []string{wwwV4, wwwV6}},
		walk: expand("search")[:1], answers: "search.prod.svc.cluster.local.", queries: 2, own: 2, completed: 2},
	{resolver: ahosts, name: "www.example.org",
		want: answer{Name: "www.example.org", Records: []string{wwwV4, wwwV6}},
		walk: expand("www.example.org"), answers: "www.example.org.", queries: 10, completed: 2},
	{resolver: ahosts, name: "v4only.example.org",
		want: answer{Name: "v4only.example.org", Records: []string{v4onlyIP}},
		walk: expand("v4only.example.org"), answers: "v4only.example.org.", queries: 10, completed: 2},
	{resolver: ahosts, name: "txt.example.org",
		want: answer{Status: "exit 2"},
		walk: expand("txt.example.org"), answers: "txt.example.org.", queries: 10, completed: 2},
	{resolver: ahosts, name: "host1",
		want: answer{Name: "host1.example.internal", Records: []string{host1IP}},
		walk: expand("host1")[:4], answers: "host1.example.internal.", queries: 8, completed: 8},
	{resolver: ahosts, name: "nope",
		want: answer{Status: "exit 2"},
		walk: expand("nope"), queries: 10, completed: 10},
	// <service>.<namespace> for a service that does not exist: the
	// second name of the walk, host1.staging.svc.cluster.local, looks like
	// the first of a pod of staging asking for host1, which the node's
	// domain has. The server must not complete it.
	{resolver: ahosts, name: "host1.staging",
		want: answer{Status: "exit 2"},
		walk: expand("host1.staging"), queries: 10, completed: 10},
	{resolver: ahosts, name: "nope.example.org",
		want: answer{Status: "exit 2"},
		walk: expand("nope.example.org"), queries: 10, completed: 10},
	// gethostbyname asks AAAA first, then A. glibc does not stop at a
	// name that exists without the type (NODATA): it walks on, and asks A
	// after the whole AAAA walk.
	{resolver: hosts, name: "web.prod",
		want: answer{Name: "web.prod.svc.cluster.local", Records: []string{webIP}},
		walk: expand("web.prod"), answers: "web.prod.svc.cluster.local.", queries: 7, completed: 6},
	{resolver: hosts, name: "www.example.org",
		want: answer{Name: "www.example.org", Records: []string{wwwV6}},
		walk: expand("www.example.org"), answers: "www.example.org.", queries: 5, completed: 1},
	{resolver: hosts, name: "v4only.example.org",
		want: answer{Name: "v4only.example.org", Records: []string{v4onlyIP}},
		walk: expand("v4only.example.org"), answers: "v4only.example.org.", queries: 10, completed: 2},
	{resolver: dig, name: "_http._tcp.web", qtype: "SRV",
		want: answer{Name: "_http._tcp.web.prod.svc.cluster.local.", Records: []string{"SRV 0 100 80 web.prod.svc.cluster.local."}},
		walk: expand("_http._tcp.web")[:1], answers: "_http._tcp.web.prod.svc.cluster.local.", queries: 1, completed: 1},
	{resolver: dig, name: "_http._tcp.web.prod", qtype: "SRV",
		want: answer{Name: "_http._tcp.web.prod.svc.cluster.local.", Records: []string{"SRV 0 100 80 web.prod.svc.cluster.local."}},
		walk: expand("_http._tcp.web.prod")[:2], answers: "_http._tcp.web.prod.svc.cluster.local.", queries: 2, completed: 1},
	{resolver: dig, name: "_http._tcp.example.org", qtype: "SRV",
		want: answer{Name: "_http._tcp.example.org.", Records: []string{"SRV 0 100 80 www.example.org."}},
		walk: expand("_http._tcp.example.org"), answers: "_http._tcp.example.org.", queries: 5, completed: 1},
	{resolver: dig, name: "www.example.org", qtype: "A",
		want: answer{Name: "www.example.org.", Records: []string{"A " + wwwV4}},
		walk: expand("www.example.org"), answers: "www.example.org.", queries: 5, completed: 1},
	// dig, like musl, stops at the first name that exists.
	{resolver: dig, name: "web.prod", qtype: "AAAA",
		want: answer{Status: "NODATA"},
		walk: expand("web.prod")[:2], answers: "web.prod.svc.cluster.local.", queries: 2, completed: 2},
	{resolver: dig, name: "nope", qtype: "A",
		want: answer{Status: "NXDOMAIN"},
		walk: expand("nope"), queries: 5, completed: 5},
	// nslookup walks for A, then asks AAAA of the name it found.
	{resolver: nslookup, name: "www.example.org",
		want: answer{Name: "www.example.org", Records: []string{wwwV4, wwwV6}},
		walk: expand("www.example.org"), answers: "www.example.org.", queries: 6, completed: 2},
	{resolver: nslookup, name: "web.staging",
		want: answer{Name: "web.staging.svc.cluster.local", Records: []string{stagingIP}},
		walk: expand("web.staging")[:2], answers: "web.staging.svc.cluster.local.", queries: 3, completed: 2},
	{resolver: nslookup, name: "nope.example.org",
		want: answer{Status: "NXDOMAIN"},
		walk: expand("nope.example.org"), queries: 5, completed: 5},
}

func (l lookup) String() string {
	s := l.resolver.name + " " + l.name
	if l.qtype != "" {
		s += " " + l.qtype
	}
	return s
}

// result is what a lookup gave: the resolver's output and answer, and the
// queries the server answered for it.
type result struct {
	output  string
	answer  answer
	queries []query
}

// client returns the queries the client sent, without the lookups the
// server made itself.
func (r result) client() []query {
	var out []query
	for _, q := range r.queries {
		if q.For == "" {
			out = append(out, q)
		}
	}
	return out
}

// resolve runs the lookup in the bed's pod.
func (l lookup) resolve(t *testing.T, s *server) result {
	t.Helper()
	var r result
	r.queries = s.observe(t, func() {
		cmd := l.resolver.command(l.name, l.qtype)
		out, exit := s.bed.run(t, cmd[0], cmd[1:]...)
		r.output = "$ " + strings.Join(cmd, " ") + "\n" + out
		r.answer = l.resolver.parse(out, exit)
	})
	return r
}

// names returns the names of qs in the order they first appear.
func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

func names(qs []query) []string {
	var out []string
	for _, q := range qs {
		if !slices.Contains(out, q.Name) {
			out = append(out, q.Name)
		}
	}
	return out
}

// TestClientSearchPath resolves names from a pod's resolv.conf with real
// stub resolvers against the server without search_path, and checks that
// each walks its search list as in a real cluster: the names it asks (up
// to the first that exists, none after), every one of them NXDOMAIN but
// the one that exists, and the answer it ends with.
func TestClientSearchPath(t *testing.T) {
	b := newBed(t)
	s := b.startServer(t, "")
	for _, l := range lookups {
		t.Run(l.String(), func(t *testing.T) {
			r := l.resolve(t, s)
			if !equalAnswers(r.answer, l.want) {
				t.Errorf("answer %v, want %v", r.answer, l.want)
			}
			qs := r.client()
			if own := len(r.queries) - len(qs); own != l.own {
				t.Errorf("the server made %d lookups of its own, want %d: %v", own, l.own, r.queries)
			}
			// The names as a set: the server's log lines are written as each
			// query finishes, so a step's line can land after the next
			// step's (seen in CI). The walk's order is glibc's; that it stops
			// at the first name that exists shows in the set (no name after
			// it) and in the rcodes below.
			if w, want := sortedCopy(names(qs)), sortedCopy(l.walk); !slices.Equal(w, want) {
				t.Errorf("the client asked\n%s\nwant\n%s", strings.Join(names(qs), "\n"), strings.Join(l.walk, "\n"))
			}
			if len(qs) != l.queries {
				t.Errorf("%d queries, want %d: %v", len(qs), l.queries, qs)
			}
			for _, q := range qs {
				want := "NXDOMAIN"
				if q.Name == l.answers {
					want = "NOERROR"
				}
				if q.Rcode != want {
					t.Errorf("%s: got %s, want %s", q, q.Rcode, want)
				}
			}
			if t.Failed() {
				t.Log(r.output)
			}
		})
	}
}

// TestServerSearchPath resolves every lookup through the server without
// and with search_path and compares, name by name, the answers the stub
// resolvers end with, and the round trips they took.
func TestServerSearchPath(t *testing.T) {
	b := newBed(t)
	results := make(map[bool][]result)
	for _, on := range []bool{false, true} {
		option := ""
		if on {
			option = fmt.Sprintf(searchPathOption, b.dir)
		}
		s := b.startServer(t, option)
		for _, l := range lookups {
			results[on] = append(results[on], l.resolve(t, s))
		}
		stop(t, s.Process)
	}

	var report strings.Builder
	fmt.Fprintf(&report, "%-42s %-15s %-15s %s\n", "lookup", "without", "with", "server's own lookups without/with")
	for i, l := range lookups {
		off, on := results[false][i], results[true][i]
		fmt.Fprintf(&report, "%-42s %-15s %-15s %d/%d\n", l, roundTrips(l, off), roundTrips(l, on),
			len(off.queries)-len(off.client()), len(on.queries)-len(on.client()))
		t.Run(l.String(), func(t *testing.T) {
			if !equalAnswers(off.answer, l.want) {
				t.Errorf("without search_path: %v, want %v", off.answer, l.want)
			}
			if !equalAnswers(on.answer, off.answer) {
				t.Errorf("with search_path: %v, without: %v", on.answer, off.answer)
			}
			if got := len(on.client()); got != l.completed {
				t.Errorf("with search_path the client sent %d queries, want %d: %v", got, l.completed, on.queries)
			}
			// glibc's gethostbyname lists the names of the CNAME chain it
			// followed as aliases: the server's CNAME makes the name the
			// client asked first one of them.
			if l.resolver.name == hosts.name {
				var want []string
				if len(on.client()) < len(off.client()) {
					want = []string{strings.TrimSuffix(on.client()[len(on.client())-1].Name, ".")}
				}
				if len(off.answer.Aliases) != 0 || !slices.Equal(on.answer.Aliases, want) {
					t.Errorf("aliases %v without search_path and %v with it, want none and %v", off.answer.Aliases, on.answer.Aliases, want)
				}
			}
			if t.Failed() {
				t.Logf("without search_path:\n%s\nqueries: %v\nwith search_path:\n%s\nqueries: %v", off.output, off.queries, on.output, on.queries)
			}
		})
	}
	t.Logf("round trips per lookup, client to server:\n%s", report.String())
}

// roundTrips formats the client's queries of a lookup, per type for glibc's
// getaddrinfo, which asks A and AAAA side by side.
func roundTrips(l lookup, r result) string {
	n := len(r.client())
	if l.resolver.name == ahosts.name {
		return fmt.Sprintf("%d (%g per type)", n, float64(n)/2)
	}
	return fmt.Sprint(n)
}

func equalAnswers(a, b answer) bool {
	return a.Name == b.Name && a.Status == b.Status && slices.Equal(a.Records, b.Records)
}
