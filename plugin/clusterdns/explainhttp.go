package clusterdns

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

// The explain endpoint: HTTP on the address of the explain option, text
// for people and JSON (format=json, or Accept: application/json) for
// tools.
//
//	GET /explain?client=CLIENT&name=NAME[&type=TYPE]
//	GET /history?client=CLIENT
//
// It reveals the cluster's names and who asked for what: it binds loopback
// unless the operator names another address, and is reached with kubectl
// port-forward or kubectl exec (README).

// defaultExplainAddr is where explain listens without an address: loopback
// beside the metrics port, as health and metrics bind theirs.
const defaultExplainAddr = "127.0.0.1:9154"

// explainServer is the endpoint's listener. Like the health plugin's, it
// is closed before a reload starts the next instance (which binds the same
// address) and opened again if the reload fails.
type explainServer struct {
	addr string
	cd   *ClusterDNS

	mu  sync.Mutex
	srv *http.Server
	ln  net.Listener
}

func (cd *ClusterDNS) setupExplain(c *caddy.Controller) {
	if cd.cfg.explain.addr == "" {
		return
	}
	if n := cd.cfg.explain.historyPerClient; n > 0 {
		cd.history = newHistory(n, cd.cfg.explain.historyClients)
	}
	cd.explainServer = &explainServer{addr: cd.cfg.explain.addr, cd: cd}
	cd.setupExplainChain(c)
	c.OnStartup(cd.explainServer.start)
	c.OnRestartFailed(cd.explainServer.start)
	c.OnRestart(cd.explainServer.stop)
	c.OnFinalShutdown(cd.explainServer.stop)
}

func (s *explainServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/explain", s.explain)
	mux.HandleFunc("/history", s.history)
	s.ln = ln
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Errorf("explain: %v", err)
		}
	}()
	log.Infof("explain on http://%s", ln.Addr())
	return nil
}

func (s *explainServer) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	err := s.srv.Close()
	s.ln, s.srv = nil, nil
	return err
}

func wantJSON(r *http.Request) bool {
	return r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (s *explainServer) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	qtype := uint16(dns.TypeA)
	if t := q.Get("type"); t != "" {
		var ok bool
		if qtype, ok = dns.StringToType[strings.ToUpper(t)]; !ok {
			writeError(w, r, badInput("unknown record type %q", t))
			return
		}
	}
	e, err := s.cd.explain(q.Get("client"), q.Get("name"), qtype)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if wantJSON(r) {
		writeJSON(w, e)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	writeExplanation(w, e)
}

// historyReport is the answer of /history.
type historyReport struct {
	Client  string         `json:"client"`
	Pod     string         `json:"pod,omitempty"`
	Entries []historyEntry `json:"entries"`
	// Bounds states the caps the history keeps to.
	Bounds string `json:"bounds"`
}

func (s *explainServer) history(w http.ResponseWriter, r *http.Request) {
	h := s.cd.history
	if h == nil {
		writeError(w, r, badInput("the query history is off: add `history` to the explain block"))
		return
	}
	client := r.URL.Query().Get("client")
	ip, pod, err := s.cd.historyClient(client)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rep := historyReport{Client: ip.String(), Pod: pod, Entries: h.of(ip),
		Bounds: fmt.Sprintf("the last %d questions of each of the %d clients heard from most recently", h.perClient, h.maxClients)}
	if rep.Entries == nil {
		rep.Entries = []historyEntry{}
	}
	if wantJSON(r) {
		writeJSON(w, rep)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	who := rep.Client
	if pod != "" {
		who += " (pod " + pod + ")"
	}
	fmt.Fprintf(w, "history of %s: %d kept (%s)\n", who, len(rep.Entries), rep.Bounds)
	for _, e := range rep.Entries {
		fmt.Fprintf(w, "%s %s %s -> %s\n", e.At.UTC().Format("15:04:05.000"), e.Name, dns.TypeToString[e.Qtype], dns.RcodeToString[e.Rcode])
		for _, rr := range e.Answer {
			fmt.Fprintf(w, "    %s\n", rr)
		}
	}
}

// historyClient finds the address whose history is asked for: an IP, or
// a pod by namespace/name (pods verified).
func (cd *ClusterDNS) historyClient(client string) (netip.Addr, string, error) {
	if ip, err := netip.ParseAddr(client); err == nil {
		ip = ip.Unmap()
		pod := ""
		if v := cd.index.View(); v != nil {
			if ns, name, ok := v.PodAt(ip); ok {
				pod = ns + "/" + name
			}
		}
		return ip, pod, nil
	}
	ns, name, ok := strings.Cut(client, "/")
	if !ok || name == "" {
		return netip.Addr{}, "", badInput("client %q is neither namespace/pod nor an IP address", client)
	}
	if !cd.index.PodsIndexed() {
		return netip.Addr{}, "", badInput("client %s: finding a pod's address needs pods verified; give its IP", client)
	}
	p := cd.index.Pod(ns, name)
	if p == nil || len(p.IPs) == 0 {
		return netip.Addr{}, "", badInput("unknown pod %s: no running pod of that name in the view", client)
	}
	return p.IPs[0], client, nil
}

// MarshalJSON writes an entry with its type, rcode and records as text.
func (e historyEntry) MarshalJSON() ([]byte, error) {
	answer := make([]string, len(e.Answer))
	for i, rr := range e.Answer {
		answer[i] = rr.String()
	}
	return json.Marshal(struct {
		At     time.Time `json:"at"`
		Name   string    `json:"name"`
		Type   string    `json:"type"`
		Rcode  string    `json:"rcode"`
		Answer []string  `json:"answer"`
	}{e.At, e.Name, dns.TypeToString[e.Qtype], dns.RcodeToString[e.Rcode], answer})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		log.Debugf("explain: write: %v", err)
	}
}

// writeError answers bad input with 400 and the reason, and a server not
// synced yet with 503.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadRequest
	if errors.Is(err, errNotSynced) {
		code = http.StatusServiceUnavailable
	}
	if wantJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	http.Error(w, err.Error(), code)
}

// writeExplanation writes e for people.
func writeExplanation(w io.Writer, e *Explanation) {
	who := "a pod of namespace " + e.Client.Namespace
	if e.Client.Pod != "" {
		who = "pod " + e.Client.Namespace + "/" + e.Client.Pod
		if !e.Client.Verified {
			who += " (not verified: the index keeps no pods)"
		}
	}
	if e.Client.IP != "" {
		who += " at " + e.Client.IP
	}
	fmt.Fprintf(w, "%s %s asked by %s\n", e.Name, e.Type, who)
	fmt.Fprintf(w, "search %s, ndots:%d\n  (%s)\n", strings.Join(e.Search, " "), e.Ndots, e.SearchFrom)
	fmt.Fprintf(w, "order: %s\n", e.Order)
	for i, c := range e.Candidates {
		mark := " "
		if i == e.Answer {
			mark = "*"
		}
		if !c.Ours {
			fmt.Fprintf(w, "%s%d. %s\n     %s\n", mark, i+1, c.Name, c.Upstream)
		} else {
			fmt.Fprintf(w, "%s%d. %s -> %s\n", mark, i+1, c.Name, c.Rcode)
			for _, rr := range c.Records {
				fmt.Fprintf(w, "     %s\n", rr)
			}
			for _, r := range c.Reasons {
				if r.Name != c.Name {
					fmt.Fprintf(w, "     at %s:\n", r.Name)
				}
				fmt.Fprintf(w, "     why: %s\n", r.Rule)
				for _, o := range r.Objects {
					fmt.Fprintf(w, "          %s\n", o)
				}
			}
			if c.Upstream != "" {
				fmt.Fprintf(w, "     then: %s\n", c.Upstream)
			}
		}
		if c.Cache != "" {
			fmt.Fprintf(w, "     cache: %s\n", c.Cache)
		}
	}
	fmt.Fprintf(w, "stop: %s\n", e.Stop)
	fmt.Fprintf(w, "search_path: %s\n", e.SearchPath)
	fmt.Fprintf(w, "autopath: %s\n", e.AutoPath)
	fmt.Fprintf(w, "cache: %s\n", e.Cache)
}

// String says what the object is and when DNS last saw it change.
func (o ObjectRef) String() string {
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + o.Name
	}
	s := o.Kind + " " + name
	switch {
	case o.Missing:
		return s + ": not in the view (never created, filtered out, or deleted before the last 1024 deletions)"
	case o.Deleted != nil:
		s += fmt.Sprintf(": deleted at %s", o.Deleted.UTC().Format(time.RFC3339))
		if o.ResourceVersion != "" {
			s += ", last resourceVersion " + o.ResourceVersion
		}
		return s
	}
	if o.ResourceVersion != "" {
		s += " resourceVersion " + o.ResourceVersion
	} else {
		s += " (resourceVersion unknown: loaded from a snapshot, or a manifest without one)"
	}
	if o.Changed != nil {
		s += ", changed " + o.Changed.UTC().Format(time.RFC3339)
	}
	return s
}
