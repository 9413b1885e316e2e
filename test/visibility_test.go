package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/test/cluster"
	"github.com/clusterdns/clusterdns/test/netns"
	"github.com/clusterdns/clusterdns/test/testkit"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The visibility test's network: clusterdns in a "node" namespace on
// visServer, each client in a namespace of its own holding its pod's
// address (a /32 routed over a veth pair, as CNI plugins route pods), and
// one client at an address no pod holds.
const (
	visServer = "10.250.60.1"
	visNonPod = "10.250.62.1"
	// programmingTarget is how soon a change must be answered (DESIGN.md,
	// "Fresh, not cached stale").
	programmingTarget = 100 * time.Millisecond
)

// visTenant is a namespace of the test: its labels and visible-to
// annotation, and the address of its client pod.
type visTenant struct {
	name      string
	labels    map[string]string
	visibleTo string
	podIP     string
	// endpoints of its headless service db: db-0 by hostname, the other
	// by its dashed address.
	db0, db1 string
}

// TestVisibility runs the shipped Corefile with the visibility option on a
// real control plane, with clients in network namespaces holding pod
// addresses in several namespaces, and checks that each sees, by every
// record type and path, what it may and, for the rest, exactly what a
// namespace that does not exist gets.
func TestVisibility(t *testing.T) {
	e := apiOnlyE2E(t, cluster.Options{})
	c, ctx := e.c, e.ctx

	tenants := []visTenant{
		{name: "alpha", labels: map[string]string{"team": "a"}, podIP: "10.250.61.1", db0: "10.251.1.10", db1: "10.251.1.11"},
		{name: "beta", visibleTo: "team=a", podIP: "10.250.61.2", db0: "10.251.2.10", db1: "10.251.2.11"},
		{name: "gamma", podIP: "10.250.61.3", db0: "10.251.3.10", db1: "10.251.3.11"},
		{name: "default", db0: "10.251.4.10", db1: "10.251.4.11"}, // exported to all by the Corefile
	}
	clusterIPs := make(map[string]string)
	for _, tn := range tenants {
		if tn.name != "default" {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tn.name, Labels: tn.labels}}
			if tn.visibleTo != "" {
				ns.Annotations = map[string]string{"clusterdns.io/visible-to": tn.visibleTo}
			}
			if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			// The service account controller, which makes it, does not
			// run on an API-only bed; pods need it.
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
			if _, err := c.Client.CoreV1().ServiceAccounts(tn.name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		svc, err := c.Client.CoreV1().Services(tn.name).Create(ctx, serviceOf("web", false, nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		clusterIPs[tn.name] = svc.Spec.ClusterIP
		if _, err := c.Client.CoreV1().Services(tn.name).Create(ctx, serviceOf("db", true, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		slice := manualSlice("db", map[string]bool{tn.db0: true, tn.db1: true})
		slice.Endpoints[0].Hostname = ptr.To("db-0")
		if _, err := c.Client.DiscoveryV1().EndpointSlices(tn.name).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if tn.podIP != "" {
			runningPod(t, e, tn.name, "client", tn.podIP)
		}
	}

	// The node and the clients.
	prefix := fmt.Sprintf("vis-%d", os.Getpid())
	node := prefix + "-node"
	netns.Add(t, node)
	netns.IP(t, "-n", node, "addr", "add", visServer+"/32", "dev", "lo")
	api := strings.TrimPrefix(c.Config.Host, "https://")
	// The API server answers in the node as on the host: its certificate
	// and the kubeconfig name 127.0.0.1.
	netns.Proxy(t, node, api, api)
	clients := map[string]string{"nonpod": visNonPod} // client -> its namespace under /run/netns
	addrs := map[string]string{"nonpod": visNonPod}
	for _, tn := range tenants {
		if tn.podIP != "" {
			addrs[tn.name] = tn.podIP
		}
	}
	for name, addr := range addrs {
		ns := prefix + "-" + name
		netns.Add(t, ns)
		netns.Veth(t, node, "v-"+name, ns, "eth0")
		netns.IP(t, "-n", ns, "addr", "add", addr+"/32", "dev", "eth0")
		netns.IP(t, "-n", ns, "route", "add", visServer+"/32", "dev", "eth0")
		netns.IP(t, "-n", node, "route", "add", addr+"/32", "dev", "v-"+name)
		clients[name] = ns
	}

	// askAt returns how a client asks the server on port.
	askAt := func(port int) func(t *testing.T, client, qname string, qtype uint16) *dns.Msg {
		server := net.JoinHostPort(visServer, fmt.Sprint(port))
		return func(t *testing.T, client, qname string, qtype uint16) *dns.Msg {
			t.Helper()
			var r *dns.Msg
			err := netns.Run(clients[client], func() (err error) {
				r, _, err = (&dns.Client{Timeout: 2 * time.Second}).Exchange(new(dns.Msg).SetQuestion(qname, qtype), server)
				return err
			})
			if err != nil {
				t.Fatalf("%s asks %s: %v", client, qname, err)
			}
			return r
		}
	}
	ask := askAt(startVisibilityServer(t, e, node, false))
	// Synced: alpha's pod is known and sees its own service.
	deadline := time.Now().Add(e2eTimeout)
	for r := ask(t, "alpha", "web.alpha.svc.cluster.local.", dns.TypeA); len(r.Answer) == 0; r = ask(t, "alpha", "web.alpha.svc.cluster.local.", dns.TypeA) {
		if time.Now().After(deadline) {
			t.Fatalf("alpha never got its own service: %v", r)
		}
		time.Sleep(testkit.PollInterval)
	}

	// sees[client][namespace]
	sees := map[string]map[string]bool{
		"alpha":  {"alpha": true, "beta": true, "default": true},
		"beta":   {"beta": true, "default": true},
		"gamma":  {"gamma": true, "default": true},
		"nonpod": {"default": true},
	}
	for client := range clients {
		for _, tn := range tenants {
			t.Run(client+" asks about "+tn.name, func(t *testing.T) {
				checkVisibility(t, ask, client, tn, clusterIPs[tn.name], sees[client][tn.name])
			})
		}
	}

	t.Run("autopath walks no hidden namespace", func(t *testing.T) {
		// A server with autopath in place of search_path: a pod's first
		// search step for web.<ns> is answered by autopath's walk alone.
		ask := askAt(startVisibilityServer(t, e, node, true))
		for client := range clients {
			if client == "nonpod" {
				continue // no pod: no search list of its own
			}
			for _, tn := range tenants {
				name := "web." + tn.name + "." + client + ".svc.cluster.local."
				got := ask(t, client, name, dns.TypeA)
				if sees[client][tn.name] {
					if got.Rcode != dns.RcodeSuccess || len(got.Answer) != 2 || got.Answer[0].Header().Rrtype != dns.TypeCNAME {
						t.Errorf("%s asks %s: %s %v, want autopath's CNAME and address", client, name, dns.RcodeToString[got.Rcode], got.Answer)
					}
					continue
				}
				absent := "web.nope." + client + ".svc.cluster.local."
				want := ask(t, client, absent, dns.TypeA)
				if got.Rcode != want.Rcode || len(got.Answer) != 0 || !sameSOA(got.Ns, want.Ns) {
					t.Errorf("%s asks %s: %s %v %v, want what %s gets: %s %v", client, name, dns.RcodeToString[got.Rcode], got.Answer, got.Ns,
						absent, dns.RcodeToString[want.Rcode], want.Ns)
				}
			}
		}
	})

	t.Run("a label change takes effect within the programming target", func(t *testing.T) {
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, "gamma", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns.Labels["team"] = "a"
		if ns, err = c.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		for {
			r := ask(t, "gamma", "web.beta.svc.cluster.local.", dns.TypeA)
			if r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 {
				t.Logf("gamma sees beta %v after its label changed", time.Since(changed))
				break
			}
			if time.Since(changed) > programmingTarget {
				t.Fatalf("gamma still gets %s for beta's service %v after its label changed", dns.RcodeToString[r.Rcode], programmingTarget)
			}
		}
		// And back: beta hidden again, from the same answer as before.
		delete(ns.Labels, "team")
		if _, err := c.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		changed = time.Now()
		for r := ask(t, "gamma", "web.beta.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeNameError; r = ask(t, "gamma", "web.beta.svc.cluster.local.", dns.TypeA) {
			if time.Since(changed) > programmingTarget {
				t.Fatalf("gamma still sees beta %v after its label went", programmingTarget)
			}
		}
	})

	t.Run("a malformed annotation exports nothing", func(t *testing.T) {
		ns, err := c.Client.CoreV1().Namespaces().Get(ctx, "beta", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns.Annotations["clusterdns.io/visible-to"] = "team in a"
		if _, err := c.Client.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		for r := ask(t, "alpha", "web.beta.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeNameError; r = ask(t, "alpha", "web.beta.svc.cluster.local.", dns.TypeA) {
			if time.Since(changed) > e2eTimeout {
				t.Fatal("alpha still sees beta with a malformed annotation")
			}
		}
		for _, client := range []string{"gamma", "nonpod"} {
			if r := ask(t, client, "web.beta.svc.cluster.local.", dns.TypeA); r.Rcode != dns.RcodeNameError {
				t.Errorf("%s gets %s for beta with a malformed annotation", client, dns.RcodeToString[r.Rcode])
			}
		}
	})
}

// startVisibilityServer starts deploy/base/Corefile, localized, with the
// visibility option and search_path (or, with autopath, autopath
// @clusterdns and pods verified), in the node's network namespace, bound
// to visServer, and returns its port.
func startVisibilityServer(t *testing.T, e *e2e, node string, autopath bool) int {
	t.Helper()
	shipped := testkit.RepoFile(t, "deploy/base/Corefile")
	dir := t.TempDir()
	resolvConf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(resolvConf, []byte("search example.internal\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	corefile, err := testkit.Localize(shipped, testkit.Local{
		DNS: port, Health: testkit.FreePort(t), Ready: testkit.FreePort(t), Metrics: testkit.FreePort(t),
		// Nothing listens there in the node: forwarded names fail at once.
		Upstream:   "127.0.0.1:9",
		Kubeconfig: e.kubeconfig, AddKubeconfig: true,
		Snapshot: filepath.Join(dir, "snapshot"),
	})
	if err != nil {
		t.Fatal(err)
	}
	const block = "clusterdns cluster.local in-addr.arpa ip6.arpa {"
	if !strings.Contains(corefile, block) || !strings.Contains(corefile, "bind 127.0.0.1") {
		t.Fatalf("the shipped Corefile changed shape:\n%s", corefile)
	}
	corefile = strings.Replace(corefile, "bind 127.0.0.1", "bind 127.0.0.1 "+visServer, 1)
	options := `
        visibility {
            export default to *
            nonpod exported
        }`
	if autopath {
		// autopath's own search domains come from the server's
		// /etc/resolv.conf; they are walked last, after the cluster's.
		corefile = strings.Replace(corefile, "pods insecure", "pods verified", 1)
		corefile = strings.Replace(corefile, "    errors\n", "    errors\n    autopath @clusterdns\n", 1)
		if !strings.Contains(corefile, "pods verified") || !strings.Contains(corefile, "autopath") {
			t.Fatalf("the shipped Corefile changed shape:\n%s", corefile)
		}
	} else {
		options += `
        search_path {
            resolv_conf ` + resolvConf + `
        }`
	}
	corefile = strings.Replace(corefile, block, block+options, 1)
	startServer(t, corefile, withWrapper("ip", "netns", "exec", node), waitListening())
	return port
}

// checkVisibility asks, as client, every name of tenant tn by every type
// and path, and checks the answers: present when the client may see tn,
// else each exactly what the same question about a namespace that does not
// exist gets ("nope", and addresses nothing holds).
func checkVisibility(t *testing.T, ask func(*testing.T, string, string, uint16) *dns.Msg, client string, tn visTenant, clusterIP string, visible bool) {
	ns := tn.name
	questions := []struct {
		name, absent string
		qtype        uint16
		// answers: the visible answer has records (false: NODATA).
		answers bool
	}{
		{name: "web.%s.svc.cluster.local.", qtype: dns.TypeA, answers: true},
		{name: "web.%s.svc.cluster.local.", qtype: dns.TypeSRV, answers: true},
		{name: "_http._tcp.web.%s.svc.cluster.local.", qtype: dns.TypeSRV, answers: true},
		{name: "_tcp.web.%s.svc.cluster.local.", qtype: dns.TypeA},
		{name: "db.%s.svc.cluster.local.", qtype: dns.TypeA, answers: true},
		{name: "db.%s.svc.cluster.local.", qtype: dns.TypeSRV, answers: true},
		{name: "db-0.db.%s.svc.cluster.local.", qtype: dns.TypeA, answers: true},
		{name: testkit.Dashed(tn.db1) + ".db.%s.svc.cluster.local.", qtype: dns.TypeA, answers: true},
		{name: "%s.svc.cluster.local.", qtype: dns.TypeA},
		{name: "%s.pod.cluster.local.", qtype: dns.TypeA},
		{name: "10-250-61-9.%s.pod.cluster.local.", qtype: dns.TypeA, answers: true},
		// search_path: the first step of a search walk from the client's
		// namespace for "web.<ns>".
		{name: "web.%s." + client + ".svc.cluster.local.", qtype: dns.TypeA, answers: true},
		{name: reverseName(t, clusterIP), absent: reverseName(t, "10.0.0.250"), qtype: dns.TypePTR, answers: true},
		{name: reverseName(t, tn.db0), absent: reverseName(t, "10.251.9.10"), qtype: dns.TypePTR, answers: true},
	}
	for _, q := range questions {
		name := q.name
		absent := q.absent
		if strings.Contains(name, "%s") {
			name, absent = fmt.Sprintf(q.name, ns), fmt.Sprintf(q.name, "nope")
		}
		if client == "nonpod" && strings.Contains(name, ".nonpod.svc.") {
			continue // no pod: no search walk of its own
		}
		got := ask(t, client, name, q.qtype)
		if visible {
			if got.Rcode != dns.RcodeSuccess || (len(got.Answer) > 0) != q.answers {
				t.Errorf("%s %s: %s with %d records, want it answered", dns.TypeToString[q.qtype], name, dns.RcodeToString[got.Rcode], len(got.Answer))
			}
			continue
		}
		want := ask(t, client, absent, q.qtype)
		if got.Rcode != want.Rcode || len(got.Answer) != 0 || len(got.Extra) != len(want.Extra) || !sameSOA(got.Ns, want.Ns) {
			t.Errorf("%s %s: %s %v %v, want what %s gets: %s %v %v", dns.TypeToString[q.qtype], name, dns.RcodeToString[got.Rcode], got.Answer, got.Ns,
				absent, dns.RcodeToString[want.Rcode], want.Answer, want.Ns)
		}
	}
}

// sameSOA tells whether two authority sections are the same records.
func sameSOA(a, b []dns.RR) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}
