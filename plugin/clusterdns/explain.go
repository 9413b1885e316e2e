package clusterdns

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/forward"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// Explain: why a name resolved as it did for a pod, step by step through
// the pod's search list (the explain option; explainhttp.go serves it).
//
// Every answer shown is the resolver's, from the view the server answers
// from at that moment, through resolver.Explain: the code Resolve runs,
// recording its decisions. The objects behind them are then looked up in
// the index for their resourceVersion and change time. What the server
// does around the resolver (fallthrough, search_path, autopath, cache,
// forward) is told from the same configuration the server runs.

// Explanation is the resolution of one name for one client.
type Explanation struct {
	Client Client `json:"client"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	// Search and Ndots are the client's resolv.conf as the kubelet writes
	// it; SearchFrom says what they were made from.
	Search     []string `json:"search"`
	Ndots      int      `json:"ndots"`
	SearchFrom string   `json:"searchFrom"`
	// Order says in which order the stub resolver tries the candidates.
	Order      string      `json:"order"`
	Candidates []Candidate `json:"candidates"`
	// Stop is where the walk ends and why; Answer is the candidate that
	// ends it with an answer (-1: none).
	Stop   string `json:"stop"`
	Answer int    `json:"answer"`
	// SearchPath and AutoPath say what the server-side walks would do.
	SearchPath string `json:"searchPath"`
	AutoPath   string `json:"autopath"`
	// Cache says whether a cache plugin is in front (each candidate then
	// says whether it could hold an older answer).
	Cache string `json:"cache"`
	// View is the SOA serial of the view the answers came from.
	View uint32 `json:"viewSerial"`
}

// Client is who asks.
type Client struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod,omitempty"`
	IP        string `json:"ip,omitempty"`
	// Verified tells whether the pod was found in the index (pods
	// verified), not only named.
	Verified bool `json:"verified"`
}

// Candidate is one name of the walk and what the server answers it.
type Candidate struct {
	Name string `json:"name"`
	// Ours tells whether clusterdns answers it; else it goes to the next
	// plugin (Upstream says where).
	Ours     bool     `json:"ours"`
	Rcode    string   `json:"rcode,omitempty"`
	Records  []string `json:"records,omitempty"`
	Reasons  []Reason `json:"reasons,omitempty"`
	Upstream string   `json:"upstream,omitempty"`
	// Cache says whether the cache in front could hold an older answer
	// ("": no cache).
	Cache string `json:"cache,omitempty"`
}

// Reason is one decision of the resolver and the objects it read.
type Reason struct {
	Name    string      `json:"name"`
	Rule    string      `json:"rule"`
	Objects []ObjectRef `json:"objects,omitempty"`
}

// ObjectRef is a Kubernetes object an answer came from.
type ObjectRef struct {
	Kind            string     `json:"kind"`
	Namespace       string     `json:"namespace,omitempty"`
	Name            string     `json:"name"`
	ResourceVersion string     `json:"resourceVersion,omitempty"`
	Changed         *time.Time `json:"changed,omitempty"`
	// Deleted is when the index dropped the object, for one it no longer
	// holds; Missing is set when it holds none and knows no deletion.
	Deleted *time.Time `json:"deleted,omitempty"`
	Missing bool       `json:"missing,omitempty"`
}

// errExplain is the class of bad input: the HTTP endpoint answers it with
// 400 and the message.
var errExplain = errors.New("explain")

func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errExplain, fmt.Sprintf(format, args...))
}

// explainConfig is the parsed explain option.
type explainConfig struct {
	addr string
	// nodeSearch are the node's search domains, which the kubelet appends
	// to a ClusterFirst pod's list; nodeSearchFrom says where they came
	// from.
	nodeSearch     []string
	nodeSearchFrom string
	// history, when set, keeps the per-client query history.
	historyPerClient, historyClients int
}

// chainInfo is what explain tells about the plugins around clusterdns,
// read in OnStartup once every plugin of the block is set up.
type chainInfo struct {
	cache    *cacheInfo
	forwards []string
}

// cacheInfo is the configuration of the cache plugin in front.
type cacheInfo struct {
	zones, successExcept, denialExcept []string
	successTTL, denialTTL, staleUpTo   time.Duration
}

// setupExplainChain records, in OnStartup, the cache and forward plugins
// of the server block.
func (cd *ClusterDNS) setupExplainChain(c *caddy.Controller) {
	c.OnStartup(func() error {
		conf := dnsserver.GetConfig(c)
		var info chainInfo
		if h := conf.Handler("cache"); h != nil {
			info.cache = readCache(h)
		}
		if f, ok := conf.Handler("forward").(*forward.Forward); ok {
			for _, p := range f.List() {
				info.forwards = append(info.forwards, p.Addr())
			}
		}
		cd.chain.Store(&info)
		return nil
	})
}

// readCache reads the cache plugin's TTLs and exceptions. The cache keeps
// them in unexported fields, with no accessor: reflection reads them by
// name, and a field missing after an upgrade leaves it zero, which
// TestExplainReadsCache catches.
func readCache(h plugin.Handler) *cacheInfo {
	v := reflect.ValueOf(h)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	dur := func(name string) time.Duration {
		if f := v.FieldByName(name); f.IsValid() && f.Kind() == reflect.Int64 {
			return time.Duration(f.Int())
		}
		return 0
	}
	strs := func(name string) []string {
		f := v.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice {
			return nil
		}
		out := make([]string, f.Len())
		for i := range out {
			out[i] = f.Index(i).String()
		}
		return out
	}
	return &cacheInfo{
		zones: strs("Zones"), successExcept: strs("pexcept"), denialExcept: strs("nexcept"),
		successTTL: dur("pttl"), denialTTL: dur("nttl"), staleUpTo: dur("staleUpTo"),
	}
}

// explain explains name, as the client would type it, of type qtype.
// client is "namespace/pod", "namespace/" (a pod of that namespace) or
// the pod's IP address.
func (cd *ClusterDNS) explain(client, name string, qtype uint16) (*Explanation, error) {
	view := cd.index.View()
	if view == nil {
		return nil, errNotSynced
	}
	cl, err := cd.explainClient(view, client)
	if err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	zone := cd.clusterDomain()
	search, from := cd.podSearch(cl.Namespace, zone)
	e := &Explanation{
		Client: cl, Name: name, Type: dns.TypeToString[qtype],
		Search: search, Ndots: podNdots, SearchFrom: from, Answer: -1, View: view.Serial(),
	}
	names := candidates(name, search, podNdots, &e.Order)
	ip, _ := netip.ParseAddr(cl.IP) // invalid when the pod is only named
	asker := cd.askerOf(view, cl.Namespace, ip)
	now := time.Now()
	stop := ""
	for i, n := range names {
		c := cd.explainCandidate(view, asker, n, qtype, now)
		e.Candidates = append(e.Candidates, c)
		if stop != "" {
			continue
		}
		switch {
		case !c.Ours:
			stop = fmt.Sprintf("candidate %d (%s) leaves clusterdns: the walk ends there unless the upstream answers NXDOMAIN or NODATA, then goes on with the next candidates", i+1, n)
		case c.Rcode == "NOERROR" && len(c.Records) > 0:
			e.Answer = i
			stop = fmt.Sprintf("candidate %d (%s) has records: the walk ends there with them", i+1, n)
		case c.Rcode != "NXDOMAIN" && c.Rcode != "NOERROR":
			stop = fmt.Sprintf("candidate %d (%s) fails with %s: the stub resolver gives up", i+1, n, c.Rcode)
		}
	}
	if stop == "" {
		stop = "no candidate has records: the lookup fails (NXDOMAIN; NODATA if a candidate exists without records of the type)"
	}
	e.Stop = stop
	e.SearchPath = cd.explainSearchPath(view, e, asker, ip, zone)
	e.AutoPath = cd.explainAutoPath(e, zone)
	e.Cache = "no cache in this server block: every query reaches clusterdns"
	if chain := cd.chain.Load(); chain != nil && chain.cache != nil {
		c := chain.cache
		e.Cache = fmt.Sprintf("cache in front for %s: success answers kept up to %s, denials up to %s", strings.Join(c.zones, " "), c.successTTL, c.denialTTL)
		if c.staleUpTo > 0 {
			e.Cache += fmt.Sprintf(", served stale up to %s more", c.staleUpTo)
		}
	}
	return e, nil
}

// askerOf is who the explained client is to the visibility option, so that
// explain answers what that pod is answered: the pod at ip as a query from
// it would find it, else a pod of namespace.
func (cd *ClusterDNS) askerOf(view *index.View, namespace string, ip netip.Addr) index.Client {
	if ip.IsValid() || cd.cfg.index.Visibility == nil {
		return cd.clientAt(view, ip)
	}
	return index.PodClient(namespace)
}

// explainClient finds the client: a pod by name or by address (the
// latter through View.PodAt, as metadata and autopath do), or a namespace.
func (cd *ClusterDNS) explainClient(view *index.View, client string) (Client, error) {
	if client == "" {
		return Client{}, badInput("no client: give namespace/pod, namespace/ or the pod's IP")
	}
	if ns, pod, ok := strings.Cut(client, "/"); ok {
		if !validLabel(ns) {
			return Client{}, badInput("client %q: %q is not a namespace name", client, ns)
		}
		if !view.NamespaceExists([]byte(strings.ToLower(ns))) {
			return Client{}, badInput("client %q: no namespace %s in the view", client, ns)
		}
		if pod == "" {
			return Client{Namespace: ns}, nil
		}
		if !cd.index.PodsIndexed() {
			// Without pods verified nothing tells whether the pod exists;
			// its namespace is all the walk needs.
			return Client{Namespace: ns, Pod: pod}, nil
		}
		p := cd.index.Pod(ns, pod)
		if p == nil {
			return Client{}, badInput("unknown pod %s/%s: no running pod of that name in the view", ns, pod)
		}
		cl := Client{Namespace: ns, Pod: pod, Verified: true}
		if len(p.IPs) > 0 {
			cl.IP = p.IPs[0].String()
		}
		return cl, nil
	}
	ip, err := netip.ParseAddr(client)
	if err != nil {
		return Client{}, badInput("client %q is neither namespace/pod nor an IP address", client)
	}
	if !cd.index.PodsIndexed() {
		return Client{}, badInput("client %s: finding a pod by its address needs pods verified (the index keeps no pods); give namespace/pod or namespace/ instead", ip)
	}
	ns, pod, ok := view.PodAt(ip.Unmap())
	if !ok {
		return Client{}, badInput("client %s is outside the pod network: no running pod has that address", ip)
	}
	return Client{Namespace: ns, Pod: pod, IP: ip.Unmap().String(), Verified: true}, nil
}

// checkName refuses what no stub resolver would send.
func checkName(name string) error {
	if name == "" {
		return badInput("no name to explain")
	}
	if n, ok := dns.IsDomainName(name); !ok || n == 0 || strings.ContainsAny(name, " \t\r\n\\\"") || len(dns.Fqdn(name)) > 253+1 {
		return badInput("invalid name %q: not a domain name", name)
	}
	return nil
}

// clusterDomain is the pods' cluster domain: the plugin's first forward
// zone.
func (cd *ClusterDNS) clusterDomain() string {
	for _, z := range cd.Zones {
		if !resolver.IsReverseZone(z) {
			return z
		}
	}
	return cd.Zones[0]
}

// podSearch is the search list the kubelet writes for a pod of namespace
// ns with dnsPolicy ClusterFirst (searchList), and what it was made from.
func (cd *ClusterDNS) podSearch(ns, zone string) ([]string, string) {
	search := kubeletLimits(searchList(nil, strings.ToLower(ns), zone, cd.cfg.explain.nodeSearch))
	from := "dnsPolicy ClusterFirst defaults: the index keeps no pod's dnsPolicy or dnsConfig, so a pod with dnsPolicy Default, None or its own dnsConfig searches otherwise; node search domains from " + cd.cfg.explain.nodeSearchFrom
	return search, from
}

// candidates lists the names a stub resolver (glibc's res_search) tries for
// name, in order, and says why in order.
func candidates(name string, search []string, ndots int, order *string) []string {
	if strings.HasSuffix(name, ".") {
		*order = "the name ends with a dot: it is tried as it is, without the search list"
		return []string{name}
	}
	var withSearch []string
	for _, s := range search {
		withSearch = append(withSearch, name+"."+s)
	}
	dots := strings.Count(name, ".")
	if dots >= ndots {
		*order = fmt.Sprintf("%d dots >= ndots %d: as it is first, then the search list", dots, ndots)
		return append([]string{name + "."}, withSearch...)
	}
	*order = fmt.Sprintf("%d dots < ndots %d: the search list first, then the name as it is", dots, ndots)
	return append(withSearch, name+".")
}

// explainCandidate answers one candidate name as the plugin does.
func (cd *ClusterDNS) explainCandidate(view *index.View, asker index.Client, name string, qtype uint16, now time.Time) Candidate {
	c := Candidate{Name: name}
	var tr resolver.Trace
	res, ours := cd.resolver.Explain(view, asker, name, qtype, &tr)
	if !ours || (res.NameError() && cd.Fall.Through(name)) {
		c.Upstream = cd.upstreamText(ours)
		c.Cache = cd.cacheText(name, 0, time.Time{}, now)
		return c
	}
	c.Ours = true
	c.Rcode = dns.RcodeToString[res.Rcode]
	for _, rr := range res.Answer {
		c.Records = append(c.Records, rr.String())
	}
	var changed time.Time
	for _, s := range tr.Steps {
		r := Reason{Name: s.Owner, Rule: s.Rule.String(), Objects: cd.provenance(s)}
		for _, o := range r.Objects {
			for _, t := range []*time.Time{o.Changed, o.Deleted} {
				if t != nil && t.After(changed) {
					changed = *t
				}
			}
		}
		c.Reasons = append(c.Reasons, r)
	}
	if res.Chase != "" {
		c.Upstream = fmt.Sprintf("the server appends the records of %s, looked up through itself: %s", res.Chase, cd.upstreamText(false))
	}
	c.Cache = cd.cacheText(name, answerTTL(res, cd.cfg.TTL), changed, now)
	return c
}

// answerTTL is how long a resolver may keep the answer: the lowest TTL of
// its records, or for a negative one the SOA minimum (RFC 2308).
func answerTTL(res resolver.Result, soaMin uint32) time.Duration {
	if len(res.Answer) == 0 {
		return time.Duration(soaMin) * time.Second
	}
	low := res.Answer[0].Header().Ttl
	for _, rr := range res.Answer[1:] {
		low = min(low, rr.Header().Ttl)
	}
	return time.Duration(low) * time.Second
}

// provenance looks up the objects behind a step in the index.
func (cd *ClusterDNS) provenance(s resolver.Step) []ObjectRef {
	switch s.Kind {
	case object.KindService:
		return []ObjectRef{cd.serviceRef(s.Namespace, s.Name)}
	case object.KindEndpointSlice:
		out := []ObjectRef{cd.serviceRef(s.Namespace, s.Name)}
		for _, es := range cd.index.EndpointSlices(s.Namespace, s.Name) {
			out = append(out, objectRef("EndpointSlice", es.Meta))
		}
		return out
	case object.KindNamespace:
		if _, m := cd.index.Object(object.KindNamespace, "", s.Name); m != nil {
			return []ObjectRef{objectRef("Namespace", *m)}
		}
		return []ObjectRef{{Kind: "Namespace", Name: s.Name, Missing: true}}
	case object.KindPod:
		if _, m := cd.index.Object(object.KindPod, s.Namespace, s.Name); m != nil {
			return []ObjectRef{objectRef("Pod", *m)}
		}
	}
	return nil
}

func (cd *ClusterDNS) serviceRef(namespace, name string) ObjectRef {
	if _, m := cd.index.Object(object.KindService, namespace, name); m != nil {
		return objectRef("Service", *m)
	}
	ref := ObjectRef{Kind: "Service", Namespace: namespace, Name: name, Missing: true}
	if d, ok := cd.index.ServiceDeleted(namespace, name); ok {
		ref.Missing, ref.Deleted, ref.ResourceVersion = false, &d.At, d.ResourceVersion
	}
	return ref
}

func objectRef(kind string, m object.Meta) ObjectRef {
	ref := ObjectRef{Kind: kind, Namespace: m.Namespace, Name: m.Name, ResourceVersion: m.ResourceVersion}
	if !m.Changed.IsZero() {
		t := m.Changed.Time()
		ref.Changed = &t
	}
	return ref
}

// upstreamText says where a name clusterdns does not answer goes.
func (cd *ClusterDNS) upstreamText(ours bool) string {
	why := "outside the cluster zones"
	if ours {
		why = "NXDOMAIN under fallthrough"
	}
	chain := cd.chain.Load()
	if chain == nil || len(chain.forwards) == 0 {
		return why + ": passed to the next plugin (no forward in this server block)"
	}
	return why + ": passed to the next plugin, forward to " + strings.Join(chain.forwards, ", ")
}

// cacheText says whether the cache in front could serve an older answer
// for name than the one shown: one cached before the last change of the
// objects behind it (changed), positive or negative, for as long as the
// cache keeps that kind: the answer's TTL (at most ttl, or the zone's),
// capped by the cache, plus serve_stale.
func (cd *ClusterDNS) cacheText(name string, ttl time.Duration, changed, now time.Time) string {
	chain := cd.chain.Load()
	if chain == nil || chain.cache == nil {
		return ""
	}
	c := chain.cache
	if plugin.Zones(c.zones).Matches(name) == "" {
		return "the cache does not cover this name"
	}
	ttl = max(ttl, time.Duration(cd.cfg.TTL)*time.Second)
	var hold time.Duration
	var kept []string
	for _, k := range []struct {
		kind   string
		except []string
		cap    time.Duration
	}{{"success", c.successExcept, c.successTTL}, {"denial", c.denialExcept, c.denialTTL}} {
		if plugin.Zones(k.except).Matches(name) != "" {
			continue
		}
		h := min(ttl, k.cap)
		hold = max(hold, h)
		kept = append(kept, fmt.Sprintf("%s answers up to %s", k.kind, h))
	}
	if len(kept) == 0 {
		return "the cache keeps no answers for this name (disable success and denial)"
	}
	hold += c.staleUpTo
	what := "the cache keeps " + strings.Join(kept, " and ")
	if c.staleUpTo > 0 {
		what += fmt.Sprintf(", and serves them stale up to %s more", c.staleUpTo)
	}
	if changed.IsZero() {
		return what + ": an answer that old may be served instead (the change time is unknown)"
	}
	if until := changed.Add(hold); until.After(now) {
		return fmt.Sprintf("%s: an answer cached before the last change (%s) may be served until %s", what, changed.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s: the last change (%s) is older than that, so no older answer is cached", what, changed.UTC().Format(time.RFC3339))
}

// explainSearchPath says what search_path does with the walk's first
// query, deciding as the server does (searchPath.firstStep).
func (cd *ClusterDNS) explainSearchPath(view *index.View, e *Explanation, asker index.Client, client netip.Addr, zone string) string {
	sp := cd.cfg.search
	if sp == nil {
		return "off"
	}
	if len(e.Candidates) == 0 || !e.Candidates[0].Ours || e.Candidates[0].Rcode != "NXDOMAIN" {
		return "on, but the first query is not an NXDOMAIN of the cluster zone: it is answered as shown"
	}
	first := e.Candidates[0].Name
	if _, _, ok := sp.firstStep(view, asker, first, zone, client); !ok {
		return "on, but " + first + " is not taken as the first step of a search walk (namespace, client or name shape): the client walks as shown"
	}
	if client.IsValid() && cd.autopathWalks(view, client, first, zone) {
		return "on, but autopath walks for this pod instead"
	}
	if e.Answer > 0 && e.Candidates[e.Answer].Ours {
		return fmt.Sprintf("on: the server walks the list itself and answers %s with a CNAME to %s and its records, in one round trip", first, e.Candidates[e.Answer].Name)
	}
	return "on: the server walks the list itself on " + first + " and answers with a CNAME to the first name that exists, when every stub resolver would stop there; else the client walks as shown"
}

// explainAutoPath says what autopath does for this client.
func (cd *ClusterDNS) explainAutoPath(e *Explanation, zone string) string {
	if !cd.autopathInChain {
		return "off"
	}
	if cd.cfg.Pods != resolver.PodsVerified {
		return "in the server block, but inactive: clusterdns gives it search lists only with pods verified"
	}
	if !e.Client.Verified || e.Client.IP == "" {
		return "on, for pods found by address: this client is not one"
	}
	list := cd.autoPathList(strings.ToLower(e.Client.Namespace), zone)
	return fmt.Sprintf("on: for the first query it walks %q on the server and answers with a CNAME to the first name that answers", list[:len(list)-1])
}
