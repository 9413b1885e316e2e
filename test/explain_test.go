package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// explanation is the JSON of the explain endpoint, as far as the tests read
// it.
type explanation struct {
	Client struct {
		Namespace, Pod, IP string
		Verified           bool
	}
	Search     []string
	Candidates []struct {
		Name     string
		Ours     bool
		Rcode    string
		Records  []string
		Upstream string
		Cache    string
		Reasons  []struct {
			Name    string
			Rule    string
			Objects []struct {
				Kind, Namespace, Name, ResourceVersion string
				Changed, Deleted                       *time.Time
				Missing                                bool
			}
		}
	}
	Answer int
	Stop   string
}

// explainServer is a clusterdns with the explain endpoint, in front of the
// test upstream (forward), optionally behind `cache 30`.
type explainServer struct {
	*server
	explain string // http://host:port
}

func (e *e2e) startExplain(t *testing.T, pods string, cache bool, upstream string) *explainServer {
	t.Helper()
	port, ready, explain := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	cacheLine := ""
	if cache {
		cacheLine = "cache 30"
	}
	corefile := fmt.Sprintf(`.:%[1]d {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:%[2]d
    %[6]s
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %[3]s
        pods %[4]s
        ttl 30
        explain 127.0.0.1:%[5]d {
            search corp.example
            history 4 3
        }
    }
    forward . %[7]s
}
`, port, ready, e.kubeconfig, pods, explain, cacheLine, upstream)
	s := startServer(t, corefile)
	deadline := time.Now().Add(e2eTimeout)
	for {
		if code, _ := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/ready", ready)); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("clusterdns never became ready")
		}
		time.Sleep(testkit.PollInterval)
	}
	return &explainServer{server: s, explain: fmt.Sprintf("http://127.0.0.1:%d", explain)}
}

// get asks the endpoint and returns the status and body.
func (s *explainServer) get(t *testing.T, path string, q url.Values) (int, string) {
	t.Helper()
	return httpGet(t, s.explain+path+"?"+q.Encode())
}

// explainName explains name (type A) for client, as JSON.
func (s *explainServer) explainName(t *testing.T, client, name string) explanation {
	t.Helper()
	code, body := s.get(t, "/explain", url.Values{"client": {client}, "name": {name}, "format": {"json"}})
	if code != http.StatusOK {
		t.Fatalf("explain %s for %s: %d %s", name, client, code, body)
	}
	var e explanation
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("explain %s: %v\n%s", name, err, body)
	}
	return e
}

// served returns the rcode and the answer records, sorted, the server
// sends for name A.
func served(t *testing.T, s *server, name string) (string, []string) {
	t.Helper()
	r := query(t, s.Addr, "udp", name, dns.TypeA)
	var rrs []string
	for _, rr := range r.Answer {
		rrs = append(rrs, rr.String())
	}
	slices.Sort(rrs)
	return dns.RcodeToString[r.Rcode], rrs
}

// agrees explains name and checks every candidate clusterdns answers
// against the server's answer over the wire; it returns the explanation.
func (s *explainServer) agrees(t *testing.T, client, name string) explanation {
	t.Helper()
	e := s.explainName(t, client, name)
	if len(e.Candidates) == 0 {
		t.Fatalf("explain %s: no candidates", name)
	}
	for _, c := range e.Candidates {
		rcode, rrs := served(t, s.server, c.Name)
		if !c.Ours {
			if !strings.Contains(c.Upstream, "forward to 127.0.0.1:") {
				t.Errorf("%s: upstream %q does not name forward's upstream", c.Name, c.Upstream)
			}
			continue
		}
		want := slices.Clone(c.Records)
		slices.Sort(want)
		if c.Rcode != rcode || !slices.Equal(want, rrs) {
			t.Errorf("%s: explain says %s %v, the server answers %s %v", c.Name, c.Rcode, want, rcode, rrs)
		}
	}
	return e
}

// ruleOf returns the rules that explain the candidate, joined.
func (e explanation) rules(i int) string {
	var out []string
	for _, r := range e.Candidates[i].Reasons {
		out = append(out, r.Rule)
	}
	return strings.Join(out, " | ")
}

func (e *e2e) explain(t *testing.T) {
	ns := e.namespace(t, "explain", nil)
	prod := e.namespace(t, "prod", nil)
	client := e.c.Client
	create := func(ns string, svc *corev1.Service) *corev1.Service {
		t.Helper()
		out, err := client.CoreV1().Services(ns).Create(e.ctx, svc, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	labels := map[string]string{"app": "shell"}
	if _, err := client.AppsV1().Deployments(ns).Create(e.ctx, deploymentOf("shell", 1, labels), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := create(ns, serviceOf("web", false, labels))
	testSvc := create(prod, serviceOf("test-svc", false, map[string]string{"app": "none"}))
	create(ns, serviceOf("empty", true, map[string]string{"app": "none"}))
	externalName := func(name, target string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target}}
	}
	create(ns, externalName("alias", "alias2."+ns+".svc.cluster.local"))
	create(ns, externalName("alias2", "web."+ns+".svc.cluster.local"))
	create(ns, externalName("outside", "www.example.org"))
	shell := e.waitPods(t, ns, "app=shell", "web", 1)[0]
	me := ns + "/" + shell.Name

	upstream := startUpstream(t)
	s := e.startExplain(t, "verified", false, upstream)
	eventually(t, s.server, "web."+ns+".svc.cluster.local.", dns.TypeA, is(web.Spec.ClusterIP))
	eventually(t, s.server, testkit.Dashed(shell.Status.PodIP)+"."+ns+".pod.cluster.local.", dns.TypeA, is(shell.Status.PodIP))

	t.Run("short name from a pod", func(t *testing.T) {
		x := s.agrees(t, me, "web")
		if x.Client.Pod != shell.Name || !x.Client.Verified || x.Client.IP != shell.Status.PodIP {
			t.Errorf("client %+v, want the verified pod %s at %s", x.Client, shell.Name, shell.Status.PodIP)
		}
		want := []string{ns + ".svc.cluster.local.", "svc.cluster.local.", "cluster.local.", "corp.example."}
		if !slices.Equal(x.Search, want) {
			t.Errorf("search %v, want %v", x.Search, want)
		}
		if x.Answer != 0 || !strings.Contains(x.rules(0), "ClusterIP Service") {
			t.Errorf("answered at %d by %q, want candidate 0 by the ClusterIP rule", x.Answer, x.rules(0))
		}
		obj := x.Candidates[0].Reasons[0].Objects[0]
		if obj.Kind != "Service" || obj.Name != "web" || obj.ResourceVersion != web.ResourceVersion || obj.Changed == nil {
			t.Errorf("object %+v, want Service web at resourceVersion %s with its change time", obj, web.ResourceVersion)
		}
		// The same pod by its address (View.PodAt).
		if byIP := s.explainName(t, shell.Status.PodIP, "web"); byIP.Client.Pod != shell.Name {
			t.Errorf("client by IP %+v, want pod %s", byIP.Client, shell.Name)
		}
	})
	t.Run("cross-namespace name", func(t *testing.T) {
		x := s.agrees(t, me, "test-svc.prod")
		if x.Answer != 1 || x.Candidates[0].Rcode != "NXDOMAIN" {
			t.Fatalf("answered at %d, want 1 after an NXDOMAIN: %+v", x.Answer, x.Candidates)
		}
		if obj := x.Candidates[1].Reasons[0].Objects[0]; obj.Namespace != prod || obj.ResourceVersion != testSvc.ResourceVersion {
			t.Errorf("object %+v, want prod/test-svc", obj)
		}
	})
	t.Run("external name through the ndots:5 walk", func(t *testing.T) {
		x := s.agrees(t, me, "www.example.org")
		if len(x.Candidates) != 5 || x.Candidates[4].Name != "www.example.org." || x.Candidates[3].Name != "www.example.org.corp.example." {
			t.Fatalf("candidates %+v: want the 4 search domains, then the name", x.Candidates)
		}
		for i := range 3 {
			if c := x.Candidates[i]; !c.Ours || c.Rcode != "NXDOMAIN" {
				t.Errorf("candidate %d %+v: want clusterdns's NXDOMAIN", i, c)
			}
		}
		// The walk goes on past the node's domain (the upstream says
		// NXDOMAIN) and ends at the name as it is, which forward answers.
		if rcode, _ := served(t, s.server, x.Candidates[3].Name); rcode != "NXDOMAIN" {
			t.Errorf("%s: %s from the upstream, want NXDOMAIN", x.Candidates[3].Name, rcode)
		}
		if _, rrs := served(t, s.server, "www.example.org."); len(rrs) != 1 || !strings.HasSuffix(rrs[0], upstreamA) {
			t.Errorf("www.example.org.: %v, want the upstream's %s", rrs, upstreamA)
		}
		if !strings.Contains(x.Stop, "candidate 4") {
			t.Errorf("stop %q, want the walk to leave clusterdns at candidate 4", x.Stop)
		}
	})
	t.Run("deleted Service", func(t *testing.T) {
		doomed := create(ns, serviceOf("doomed", false, map[string]string{"app": "none"}))
		eventually(t, s.server, "doomed."+ns+".svc.cluster.local.", dns.TypeA, is(doomed.Spec.ClusterIP))
		if err := client.CoreV1().Services(ns).Delete(e.ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, s.server, "doomed."+ns+".svc.cluster.local.", dns.TypeA, nxdomain)
		x := s.agrees(t, me, "doomed")
		if x.Answer != -1 || !strings.Contains(x.rules(0), "no such Service") {
			t.Fatalf("answer %d, rules %q: want no answer, no such Service", x.Answer, x.rules(0))
		}
		obj := x.Candidates[0].Reasons[0].Objects[0]
		if obj.Deleted == nil || obj.ResourceVersion != doomed.ResourceVersion {
			t.Errorf("object %+v, want doomed deleted, last seen at resourceVersion %s", obj, doomed.ResourceVersion)
		}
	})
	t.Run("empty headless Service", func(t *testing.T) {
		x := s.agrees(t, me, "empty")
		if x.Candidates[0].Rcode != "NXDOMAIN" || !strings.Contains(x.rules(0), "headless Service without ready endpoints") {
			t.Errorf("%s by %q, want NXDOMAIN for a headless Service without endpoints", x.Candidates[0].Rcode, x.rules(0))
		}
	})
	t.Run("ExternalName chain", func(t *testing.T) {
		x := s.agrees(t, me, "alias")
		rules := x.rules(0)
		if x.Answer != 0 || strings.Count(rules, "ExternalName Service") != 2 || !strings.Contains(rules, "ClusterIP Service") {
			t.Errorf("answered at %d by %q: want alias -> alias2 -> web", x.Answer, rules)
		}
		out := s.explainName(t, me, "outside")
		if c := out.Candidates[0]; !strings.Contains(c.Upstream, "www.example.org.") {
			t.Errorf("outside: %+v, want the target looked up through the server", c)
		}
	})
	t.Run("pod dashed name in each pods mode", func(t *testing.T) {
		name := testkit.Dashed(shell.Status.PodIP) + "." + ns + ".pod"
		for _, tc := range []struct{ mode, rule string }{
			{"disabled", "pods disabled"},
			{"insecure", "pods insecure"},
			{"verified", "pods verified"},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				srv := s
				if tc.mode != "verified" {
					srv = e.startExplain(t, tc.mode, false, upstream)
				}
				x := srv.agrees(t, ns+"/", name)
				// 2 dots < ndots 5: the search list first; the third
				// candidate is the name under cluster.local.
				if !strings.Contains(x.rules(2), tc.rule) {
					t.Errorf("%s: %q, want the %s rule", x.Candidates[2].Name, x.rules(2), tc.rule)
				}
				if tc.mode == "verified" {
					if obj := x.Candidates[2].Reasons[0].Objects; len(obj) != 1 || obj[0].Kind != "Pod" || obj[0].Name != shell.Name {
						t.Errorf("objects %+v, want the pod %s", obj, shell.Name)
					}
				}
			})
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct{ client, name, want string }{
			{ns + "/nope", "web", "unknown pod " + ns + "/nope"},
			{me, "bad..name", "invalid name"},
			{"192.0.2.77", "web", "outside the pod network"},
		} {
			code, body := s.get(t, "/explain", url.Values{"client": {tc.client}, "name": {tc.name}})
			if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %q, want 400 with %q", tc.client, tc.name, code, body, tc.want)
			}
		}
	})
	t.Run("history bounds and clients that come and go", func(t *testing.T) {
		// Five clients on loopback addresses of their own; the history
		// keeps 4 questions of each of the 3 heard from last.
		ask := func(client int, name string) {
			t.Helper()
			c := &dns.Client{Net: "udp", Timeout: queryTimeout,
				Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, byte(client))}}}
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeA)
			if _, _, err := c.Exchange(m, s.Addr); err != nil {
				t.Fatal(err)
			}
		}
		history := func(client int) []string {
			t.Helper()
			code, body := s.get(t, "/history", url.Values{"client": {fmt.Sprintf("127.0.0.%d", client)}, "format": {"json"}})
			if code != http.StatusOK {
				t.Fatalf("history: %d %s", code, body)
			}
			var rep struct {
				Entries []struct{ Name, Rcode string }
			}
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range rep.Entries {
				out = append(out, e.Name+" "+e.Rcode)
			}
			return out
		}
		for c := 11; c <= 15; c++ {
			for i := range 6 {
				ask(c, fmt.Sprintf("q%d.%s.svc.cluster.local.", i, ns))
			}
		}
		for c := 11; c <= 12; c++ {
			if got := history(c); got != nil {
				t.Errorf("client %d: %v, want it evicted", c, got)
			}
		}
		for c := 13; c <= 15; c++ {
			want := []string{}
			for i := 2; i < 6; i++ {
				want = append(want, fmt.Sprintf("q%d.%s.svc.cluster.local. NXDOMAIN", i, ns))
			}
			if got := history(c); !slices.Equal(got, want) {
				t.Errorf("client %d: %v, want %v", c, got, want)
			}
		}
		// Client 11 comes back: it starts afresh and evicts 13, the least
		// recent.
		ask(11, "web."+ns+".svc.cluster.local.")
		if got := history(11); !slices.Equal(got, []string{"web." + ns + ".svc.cluster.local. NOERROR"}) {
			t.Errorf("client 11 back: %v", got)
		}
		if got := history(13); got != nil {
			t.Errorf("client 13: %v, want it evicted", got)
		}
	})
	t.Run("CLI", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "clusterdns-explain")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/clusterdns/clusterdns/cmd/clusterdns-explain").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "-addr", strings.TrimPrefix(s.explain, "http://"), me, "test-svc.prod").CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		t.Logf("clusterdns-explain %s test-svc.prod:\n%s", me, out)
		if !strings.Contains(string(out), "*2. test-svc.prod.svc.cluster.local. -> NOERROR") {
			t.Errorf("the CLI's text lacks the answering candidate:\n%s", out)
		}
		out, err = exec.CommandContext(ctx, bin, "-addr", strings.TrimPrefix(s.explain, "http://"), ns+"/nope", "web").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "unknown pod") {
			t.Errorf("unknown pod: %v %s, want a failure naming it", err, out)
		}
	})
	t.Run("name behind a stale cache entry", func(t *testing.T) {
		cached := e.startExplain(t, "verified", true, upstream)
		svc := create(ns, serviceOf("stale", false, map[string]string{"app": "none"}))
		name := "stale." + ns + ".svc.cluster.local."
		eventually(t, cached.server, name, dns.TypeA, is(svc.Spec.ClusterIP)) // now in the cache
		if err := client.CoreV1().Services(ns).Delete(e.ctx, "stale", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		// The view drops it; the cache keeps serving the old address.
		deadline := time.Now().Add(e2eTimeout)
		var x explanation
		for {
			x = cached.explainName(t, me, "stale")
			if x.Candidates[0].Rcode == "NXDOMAIN" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("explain still shows %+v", x.Candidates[0])
			}
			time.Sleep(testkit.PollInterval)
		}
		if _, rrs := served(t, cached.server, name); len(rrs) != 1 || !strings.HasSuffix(rrs[0], svc.Spec.ClusterIP) {
			t.Fatalf("served %v: want the cached %s", rrs, svc.Spec.ClusterIP)
		}
		if c := x.Candidates[0].Cache; !strings.Contains(c, "may be served until") {
			t.Errorf("cache %q: explain must say the cache may still serve the old answer", c)
		}
		// Without a cache, the same explanation says nothing of the kind.
		if c := s.explainName(t, me, "stale").Candidates[0].Cache; c != "" {
			t.Errorf("no cache, yet %q", c)
		}
	})
}

// TestReadmeExplainSession runs the explain session of README.md's "Try it"
// (the ```console block) against the demo server and checks that each
// command prints what the README shows, times of day aside.
func TestReadmeExplainSession(t *testing.T) {
	t.Parallel()
	readme := testkit.RepoFile(t, "README.md")
	session, ok := fencedBlock(readme, "```console")
	if !ok {
		t.Fatal("README.md has no ```console block with the explain session")
	}
	_, l := startDemo(t, "")
	bin := filepath.Join(t.TempDir(), "clusterdns-explain")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/clusterdns/clusterdns/cmd/clusterdns-explain").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	clock := regexp.MustCompile(`\b\d\d:\d\d:\d\d\.\d{3}\b`)
	commands := 0
	for _, step := range strings.Split("\n"+session, "\n$ ")[1:] {
		cmdline, want, _ := strings.Cut(step, "\n")
		args := strings.Fields(cmdline)
		switch {
		case len(args) > 2 && args[0] == "go" && args[2] == "./cmd/clusterdns-explain":
			args = append([]string{bin, "-addr", testkit.Loopback(l.Explain)}, args[3:]...)
		case args[0] == "dig":
			// The demo's port, localized; -r: no ~/.digrc.
			for i := 1; i < len(args); i++ {
				if args[i-1] == "-p" {
					args[i] = strconv.Itoa(l.DNS)
				}
			}
			args = append([]string{"dig", "-r"}, args[1:]...)
		default:
			t.Fatalf("README session: no way to run %q here", cmdline)
		}
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmdline, err, out)
		}
		got := clock.ReplaceAllString(strings.TrimSpace(string(out)), "HH:MM:SS.mmm")
		if exp := clock.ReplaceAllString(strings.TrimSpace(want), "HH:MM:SS.mmm"); got != exp {
			t.Errorf("%s prints:\n%s\nREADME.md shows:\n%s", cmdline, got, exp)
		}
		commands++
	}
	if commands < 3 {
		t.Errorf("the session runs %d commands; the README's explain session has an explanation, a query and the history", commands)
	}
}

// fencedBlock returns the body of the first block opened by fence.
func fencedBlock(doc, fence string) (string, bool) {
	_, rest, ok := strings.Cut(doc, "\n"+fence+"\n")
	if !ok {
		return "", false
	}
	body, _, ok := strings.Cut(rest, "\n```")
	return body, ok
}

// TestExplainReload reloads a server's Corefile: the endpoint moves to the
// new configuration on the same address, and a refused Corefile leaves the
// old one serving it.
func TestExplainReload(t *testing.T) {
	t.Parallel()
	port, explainPort := testkit.FreePort(t), testkit.FreePort(t)
	explain := fmt.Sprintf("explain 127.0.0.1:%d", explainPort)
	corefile := func(ttl string, options ...string) string {
		return reloadCorefile(t, port, ttl, append([]string{explain}, options...)...)
	}
	s := &explainServer{server: startServer(t, corefile("10")), explain: fmt.Sprintf("http://127.0.0.1:%d", explainPort)}
	ttlShown := func() string {
		t.Helper()
		x := s.explainName(t, "prod/", "web")
		return strings.Fields(x.Candidates[0].Records[0])[1]
	}
	if got := ttlShown(); got != "10" {
		t.Fatalf("TTL %s, want 10", got)
	}
	offset := len(s.Log())
	if err := os.WriteFile(s.Corefile, []byte(corefile("20")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, offset, 20*time.Second, "Reloading complete")
	if got := ttlShown(); got != "20" {
		t.Errorf("after the reload explain shows TTL %s, want 20", got)
	}
	offset = len(s.Log())
	if err := os.WriteFile(s.Corefile, []byte(corefile("30", "podz verified")), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, offset, 20*time.Second, `unknown property "podz"`)
	if got := ttlShown(); got != "20" {
		t.Errorf("after a refused Corefile explain shows TTL %s, want the old configuration's 20", got)
	}
}
