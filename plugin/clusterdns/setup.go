package clusterdns

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"

	"k8s.io/apimachinery/pkg/labels"
)

func init() { plugin.Register(pluginName, setup) }

// setup parses the Corefile stanza and wires the plugin. Nothing here talks
// to the network or starts a goroutine: setup runs again on every reload,
// and the source starts in OnStartup.
func setup(c *caddy.Controller) error {
	cd, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	conf := dnsserver.GetConfig(c)
	var ifaceAddrs []string
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			ifaceAddrs = append(ifaceAddrs, a.String())
		}
	}
	cd.cfg.LocalAddrs = localAddrs(conf.ListenHosts, ifaceAddrs)
	cd.selfProbe = selfProbeAddr(conf)
	cd.wire()

	c.OnStartup(cd.start)
	c.OnShutdown(cd.stop)
	cd.setupTransfer(c)
	cd.setupAutoPath(c)
	cd.setupExplain(c)
	conf.AddPlugin(func(next plugin.Handler) plugin.Handler {
		cd.Next = next
		return cd
	})
	// Right after the plugin, the element that stock plugins find it by
	// (stockname.go).
	conf.AddPlugin(func(next plugin.Handler) plugin.Handler {
		return &stockAlias{cd: cd, Next: next}
	})
	return nil
}

// localAddrs are the server's addresses that ns.dns.<zone> may answer
// with: the hosts it listens on, else the interface addresses; loopback
// ones only when there are no others.
func localAddrs(listenHosts []string, ifaceAddrs []string) []netip.Addr {
	hosts := listenHosts
	if len(hosts) == 0 || hosts[0] == "" {
		hosts = ifaceAddrs
	}
	var out, loopback []netip.Addr
	for _, h := range hosts {
		var a netip.Addr
		if p, err := netip.ParsePrefix(h); err == nil {
			a = p.Addr()
		} else if a, err = netip.ParseAddr(h); err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		switch {
		case a.IsLoopback():
			loopback = append(loopback, a)
		case !a.IsLinkLocalUnicast() && !a.IsUnspecified():
			out = append(out, a)
		}
	}
	// A server bound to loopback only (a node-local cache, a test) is
	// reached there: the NS glue must not be empty.
	if len(out) == 0 {
		return loopback
	}
	return out
}

func parse(c *caddy.Controller) (*ClusterDNS, error) {
	var cd *ClusterDNS
	for c.Next() {
		if cd != nil {
			// Stock returns plugin.ErrOnce bare; name the second one's line.
			return nil, c.Err(plugin.ErrOnce.Error())
		}
		var err error
		if cd, err = parseStanza(c); err != nil {
			return nil, err
		}
	}
	return cd, nil
}

func parseStanza(c *caddy.Controller) (*ClusterDNS, error) {
	zones := plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys)
	hasForward := false
	for _, z := range zones {
		if !validZone(z) {
			return nil, c.Errf("invalid zone %q", z)
		}
		if !resolver.IsReverseZone(z) {
			hasForward = true
		}
	}
	if !hasForward {
		return nil, c.Errf("at least one zone must be a forward zone, got %v", zones)
	}
	cd := New(zones)
	cfg := &cd.cfg
	api := &cfg.api
	// markAPI notes where the first API-only option is.
	markAPI := func() {
		if cfg.apiLine == 0 {
			cfg.apiLine = c.Line()
		}
	}
	seen := make(map[string]bool)
	zonalLine := 0
	var node nodeSearch
	for c.NextBlock() {
		opt := c.Val()
		switch opt {
		case "fallthrough", "namespaces":
		default:
			if seen[opt] {
				return nil, c.Errf("option %q given twice", opt)
			}
		}
		seen[opt] = true
		args := c.RemainingArgs()
		switch opt {
		case "pods":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			switch args[0] {
			case "disabled":
				cfg.Pods = resolver.PodsDisabled
			case "insecure":
				cfg.Pods = resolver.PodsInsecure
			case "verified":
				cfg.Pods = resolver.PodsVerified
				cfg.index.Pods = true
				// AutoPath appends them to a pod's search list. A bad
				// file is a warning, not an error: the kubernetes plugin
				// starts whatever it holds, and a drop-in must too.
				domains, err := node.domains()
				if err != nil {
					log.Warningf("%s:%d: pods verified: no node search domains for autopath: %v", c.File(), c.Line(), err)
				}
				cfg.autoPath = newAutoPathWalks(zones, domains)
			default:
				return nil, c.Errf("pods must be one of disabled, insecure, verified: got %q", args[0])
			}
		case "endpoint_pod_names":
			if len(args) != 0 {
				return nil, c.ArgErr()
			}
			cfg.index.EndpointPodNames = true
		case "noendpoints":
			if len(args) != 0 {
				return nil, c.ArgErr()
			}
			cfg.index.NoEndpoints = true
		case "zonal":
			if len(args) != 0 {
				return nil, c.ArgErr()
			}
			cfg.Zonal, cfg.index.Zonal = true, true
			zonalLine = c.Line()
		case "ignore":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			if args[0] != "empty_service" {
				return nil, c.Errf("ignore takes empty_service, got %q", args[0])
			}
			cfg.IgnoreEmptyService = true
		case "ttl":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			t, err := strconv.Atoi(args[0])
			if err != nil || t < 0 || t > 3600 {
				return nil, c.Errf("ttl must be an integer in [0, 3600], got %q", args[0])
			}
			cfg.TTL = uint32(t)
		case "fallthrough":
			cd.Fall.SetZonesFromArgs(args)
		case "namespaces":
			if len(args) == 0 {
				return nil, c.ArgErr()
			}
			if cfg.index.Filter.Namespaces == nil {
				cfg.index.Filter.Namespaces = make(map[string]struct{})
			}
			for _, ns := range args {
				if !validLabel(ns) {
					return nil, c.Errf("namespaces: %q is not a valid namespace name", ns)
				}
				cfg.index.Filter.Namespaces[ns] = struct{}{}
			}
		case "labels", "namespace_labels":
			if len(args) == 0 {
				return nil, c.ArgErr()
			}
			expr := strings.Join(args, " ")
			sel, err := labels.Parse(expr)
			if err != nil {
				return nil, c.Errf("%s: invalid label selector %q: %v", opt, expr, err)
			}
			if opt == "labels" {
				cfg.index.Filter.Labels, api.LabelSelector = sel, expr
			} else {
				cfg.index.Filter.NamespaceLabels, api.NamespaceSelector = sel, expr
			}
		case "endpoint":
			if len(args) == 0 {
				return nil, c.ArgErr()
			}
			if len(args) > 1 {
				log.Warningf("multiple endpoints are deprecated, only %s is used", args[0])
			}
			if !strings.HasPrefix(args[0], "http://") && !strings.HasPrefix(args[0], "https://") {
				return nil, c.Errf("endpoint must be an http:// or https:// URL, got %q", args[0])
			}
			api.Endpoint = args[0]
			markAPI()
		case "tls":
			if len(args) != 3 {
				return nil, c.ArgErr()
			}
			api.TLSCert, api.TLSKey, api.TLSCA = args[0], args[1], args[2]
			markAPI()
		case "kubeconfig":
			if len(args) != 1 && len(args) != 2 {
				return nil, c.ArgErr()
			}
			api.Kubeconfig = args[0]
			if len(args) == 2 {
				api.KubeconfigContext = args[1]
			}
			markAPI()
		case "startup_timeout":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			d, err := time.ParseDuration(args[0])
			if err != nil || d < 0 {
				return nil, c.Errf("startup_timeout must be a duration >= 0, got %q", args[0])
			}
			api.StartupTimeout = d
		case "apiserver_qps":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			q, err := strconv.ParseFloat(args[0], 32)
			if err != nil || q < 0 {
				return nil, c.Errf("apiserver_qps must be a number >= 0, got %q", args[0])
			}
			api.QPS = float32(q)
			markAPI()
		case "apiserver_burst", "apiserver_max_inflight":
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 {
				return nil, c.Errf("%s must be an integer >= 0, got %q", opt, args[0])
			}
			if opt == "apiserver_burst" {
				api.Burst = n
			} else {
				api.MaxInflight = n
			}
			markAPI()
		case "search_path":
			sp, err := parseSearchPath(c, zones, args, &node)
			if err != nil {
				return nil, err
			}
			cfg.search = sp
		case "source":
			if len(args) != 2 || args[0] != "file" {
				return nil, c.Errf("source takes: file PATH")
			}
			// Relative to the Corefile (or the file that imports the
			// line), not to wherever the server was started from.
			cfg.file.Path = args[1]
			if !filepath.IsAbs(cfg.file.Path) {
				cfg.file.Path = filepath.Join(filepath.Dir(c.File()), cfg.file.Path)
			}
			cfg.fileAt = fmt.Sprintf("%s:%d", c.File(), c.Line())
		case "snapshot":
			if len(args) != 1 && len(args) != 2 {
				return nil, c.ArgErr()
			}
			api.Snapshot = args[0]
			if len(args) == 2 {
				d, err := time.ParseDuration(args[1])
				if err != nil || d < time.Second {
					return nil, c.Errf("snapshot interval must be a duration of at least 1s, got %q", args[1])
				}
				api.SnapshotInterval = d
			}
			markAPI()
		case "explain":
			ex, err := parseExplain(c, args, &node)
			if err != nil {
				return nil, err
			}
			cfg.explain = ex
		case "visibility":
			v, err := parseVisibility(c, args)
			if err != nil {
				return nil, err
			}
			v.BadSelector = reportBadSelector
			cfg.index.Visibility = v
			// A client's namespace is its pod's: the pod index is kept.
			cfg.index.Pods = true
		case "multicluster":
			mz, err := parseMulticluster(c, zones, args)
			if err != nil {
				return nil, err
			}
			cfg.MulticlusterZones = mz
			cfg.index.Multicluster = len(mz) > 0
		case "snapshot_ready":
			if len(args) != 0 {
				return nil, c.ArgErr()
			}
			cfg.snapshotReady = true
		default:
			return nil, c.Errf("unknown property %q", opt)
		}
	}
	if cfg.index.Filter.Namespaces != nil && cfg.index.Filter.NamespaceLabels != nil {
		return nil, c.Errf("namespaces and namespace_labels cannot both be set")
	}
	if cfg.Zonal && cfg.index.NoEndpoints {
		// Zone-scoped names are answered from endpoints, and noendpoints
		// promises NXDOMAIN for every name that needs them (as stock).
		return nil, fmt.Errorf("%s:%d - Error during parsing: zonal needs the endpoints: remove noendpoints", c.File(), zonalLine)
	}
	if cfg.file.Path != "" && cfg.apiLine != 0 {
		return nil, fmt.Errorf("%s:%d - Error during parsing: source file cannot be combined with the API options (endpoint, tls, kubeconfig, apiserver_*, snapshot)", c.File(), cfg.apiLine)
	}
	if cfg.snapshotReady && api.Snapshot == "" {
		return nil, c.Errf("snapshot_ready needs a snapshot FILE")
	}
	if cfg.search != nil && len(cfg.MulticlusterZones) > 0 {
		if err := cfg.search.withoutZones(cfg.MulticlusterZones); err != nil {
			return nil, fmt.Errorf("%s - Error during parsing: search_path: %v", cfg.search.at, err)
		}
	}
	return cd, nil
}

// parseExplain parses the explain option:
//
//	explain [ADDRESS] {
//	    search DOMAIN...
//	    history [PER_CLIENT [CLIENTS]]
//	}
//
// args are its arguments; the block, when there is one, is still to be
// read. ADDRESS must name its host: loopback, or the one address the
// operator means to expose it on, never every address.
func parseExplain(c *caddy.Controller, args []string, node *nodeSearch) (explainConfig, error) {
	line := c.Line()
	ex := explainConfig{addr: defaultExplainAddr}
	if len(args) > 1 {
		return ex, c.ArgErr()
	}
	if len(args) == 1 {
		if err := checkExplainAddr(args[0]); err != nil {
			return ex, c.Errf("explain: %v", err)
		}
		ex.addr = args[0]
	}
	readDomains := false
	err := eachBlockOption(c, "explain", nil, func(opt string, args []string) error {
		switch opt {
		case "search":
			for _, d := range args {
				if _, ok := dns.IsDomainName(d); !ok || strings.Contains(d, `\`) || d == "." {
					return c.Errf("explain: search: %q is not a domain name", d)
				}
				ex.nodeSearch = append(ex.nodeSearch, dns.Fqdn(strings.ToLower(d)))
			}
			ex.nodeSearchFrom, readDomains = "the explain block's search line", true
		case "history":
			if len(args) > 2 {
				return c.ArgErr()
			}
			ex.historyPerClient, ex.historyClients = defaultHistoryPerClient, defaultHistoryMaxClients
			for i, a := range args {
				n, err := strconv.Atoi(a)
				if err != nil || n < 1 || n > 1<<20 {
					return c.Errf("explain: history: %q is not a count in [1, %d]", a, 1<<20)
				}
				if i == 0 {
					ex.historyPerClient = n
				} else {
					ex.historyClients = n
				}
			}
		default:
			return c.Errf("explain: unknown property %q", opt)
		}
		return nil
	})
	if err != nil {
		return ex, err
	}
	if !readDomains {
		domains, err := node.domainsFor(c, line, "explain")
		if err != nil {
			return ex, err
		}
		ex.nodeSearch, ex.nodeSearchFrom = domains, defaultResolvConf
	}
	return ex, nil
}

// checkExplainAddr accepts host:port where host is an IP address other
// than the unspecified one, or localhost.
func checkExplainAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port must be in [1, 65535]", addr)
	}
	if host == "localhost" {
		return nil
	}
	if host == "" {
		return fmt.Errorf("%q would serve on every address; name loopback, or the one address to expose it on", addr)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%q: the host must be an IP address or localhost", addr)
	}
	if ip.IsUnspecified() {
		return fmt.Errorf("%q would serve on every address; name loopback, or the one address to expose it on", addr)
	}
	return nil
}

// parseMulticluster parses `multicluster [ZONES...]`, args being its
// zones: each must be a forward zone of the plugin, which answers it from
// ServiceImports instead of Services. Stock CoreDNS takes the zones
// unchecked, and a zone the plugin does not serve is silently never
// answered; here it is an error naming the line. No zones, as in stock,
// leave the option off.
func parseMulticluster(c *caddy.Controller, pluginZones, args []string) ([]string, error) {
	if len(args) == 0 {
		log.Warningf("%s:%d: multicluster without zones does nothing", c.File(), c.Line())
		return nil, nil
	}
	var zones []string
	for _, a := range args {
		if !validZone(a) {
			return nil, c.Errf("multicluster: invalid zone %q", a)
		}
		z := dns.Fqdn(strings.ToLower(a))
		if !slices.Contains(pluginZones, z) || resolver.IsReverseZone(z) {
			return nil, c.Errf("multicluster: %q is not a forward zone of this plugin", a)
		}
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	return zones, nil
}

// validZone tells whether z can be a zone: a quoted argument can hold
// anything, a zone must be a name.
func validZone(z string) bool {
	_, ok := dns.IsDomainName(z)
	return ok && !strings.ContainsAny(z, " \t\r\n\\\"")
}

// validLabel tells whether s is a DNS label as Kubernetes names namespaces.
func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	_, ok := dns.IsDomainName(s)
	return ok && !strings.Contains(s, ".")
}

// parseSearchPath parses the search_path option:
//
//	search_path [ZONES...] {
//	    namespaces NAMESPACE...
//	    clients CIDR...
//	    resolv_conf PATH
//	}
//
// args are its zones; the block, when there is one, is still to be read.
// pluginZones are the zones of the plugin.
func parseSearchPath(c *caddy.Controller, pluginZones, args []string, node *nodeSearch) (*searchPath, error) {
	line := c.Line()
	sp := &searchPath{resolvConf: defaultResolvConf, at: fmt.Sprintf("%s:%d", c.File(), line), explicit: len(args) > 0}
	var zones []string
	for _, a := range args {
		z := dns.Fqdn(strings.ToLower(a))
		if !slices.Contains(pluginZones, z) || resolver.IsReverseZone(z) {
			return nil, c.Errf("search_path: %q is not a forward zone of this plugin", a)
		}
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	if len(zones) == 0 {
		for _, z := range pluginZones {
			if !resolver.IsReverseZone(z) {
				zones = append(zones, z)
			}
		}
	}
	var domains []string
	readDomains := false
	err := eachBlockOption(c, "search_path", []string{"namespaces", "clients"}, func(opt string, args []string) error {
		if len(args) == 0 {
			return c.ArgErr()
		}
		switch opt {
		case "namespaces":
			if sp.namespaces == nil {
				sp.namespaces = make(map[string]struct{})
			}
			for _, ns := range args {
				if !validLabel(ns) {
					return c.Errf("search_path: namespaces: %q is not a valid namespace name", ns)
				}
				sp.namespaces[strings.ToLower(ns)] = struct{}{}
			}
		case "clients":
			for _, a := range args {
				p, err := parsePrefix(a)
				if err != nil {
					return c.Errf("search_path: clients: %q is neither an address nor a CIDR", a)
				}
				sp.clients = append(sp.clients, p)
			}
		case "resolv_conf":
			if len(args) != 1 {
				return c.ArgErr()
			}
			var err error
			if domains, err = readSearchDomains(args[0]); err != nil {
				return c.Errf("search_path: resolv_conf: %v", err)
			}
			sp.resolvConf, readDomains = args[0], true
		default:
			return c.Errf("search_path: unknown property %q", opt)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !readDomains {
		if domains, err = node.domainsFor(c, line, "search_path"); err != nil {
			return nil, err
		}
	}
	for _, z := range zones {
		sp.walks = append(sp.walks, newZoneWalk(z, domains))
	}
	return sp, nil
}

// eachBlockOption reads the block an option opens on its line, if any
// (RemainingArgs stops at an opening brace and leaves it on the line),
// calling fn with each option of the block and its arguments. An option
// given twice is an error unless repeatable lists it.
func eachBlockOption(c *caddy.Controller, option string, repeatable []string, fn func(opt string, args []string) error) error {
	if !c.NextArg() {
		return nil
	}
	seen := make(map[string]bool)
	for {
		if !c.Next() {
			return c.EOFErr()
		}
		opt := c.Val()
		if opt == "}" {
			return nil
		}
		if seen[opt] && !slices.Contains(repeatable, opt) {
			return c.Errf("%s: option %q given twice", option, opt)
		}
		seen[opt] = true
		if err := fn(opt, c.RemainingArgs()); err != nil {
			return err
		}
	}
}

func parsePrefix(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%s: an IPv4-mapped prefix", s)
	}
	return p.Masked(), nil
}
