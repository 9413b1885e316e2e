package clusterdns

import (
	"bytes"
	"net/netip"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/request"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// AutoPath implements autopath.AutoPather: the search list of the pod that
// asks, for the autopath plugin to walk on the server (`autopath
// @clusterdns`), exactly as the kubernetes plugin gives it: the pod's
// <ns>.svc.<zone>, svc.<zone>, <zone>, the server's own resolv.conf search
// domains and "" (the name as it is). The pod is found by the query's
// source address, so this needs `pods verified`; without it, or for a
// client that is no pod, it returns nil and autopath leaves the query
// alone.
//
// The search_path option does the same walk without watching pods. With
// both on, autopath walks for the pods it knows (autopathWalks) and
// search_path for the other clients.
func (cd *ClusterDNS) AutoPath(state request.Request) []string {
	if cd.cfg.Pods != resolver.PodsVerified {
		return nil
	}
	if state.Req == nil || len(state.Req.Question) == 0 {
		return nil
	}
	// The name as it came off the wire: state.Name would escape it again
	// on every query.
	zone := cd.resolver.Zone(state.Req.Question[0].Name)
	if zone == "" {
		return nil
	}
	view := cd.index.View()
	if view == nil {
		return nil
	}
	ns, _, ok := view.PodAt(clientIP(state.W))
	if !ok {
		return nil
	}
	return cd.autoPathList(ns, zone)
}

// autoPathList is the search list AutoPath gives a pod of namespace ns
// asking in zone: the kubernetes plugin's, with every search domain of the
// server, none left out as the kubelet would leave out duplicates (see
// newAutoPathWalks).
func (cd *ClusterDNS) autoPathList(ns, zone string) []string {
	w := walkOf(cd.cfg.autoPath, zone)
	if w == nil {
		return nil
	}
	return w.forPod(ns)
}

// setupAutoPath notes, in OnStartup when every plugin of the server block
// is set up, whether the block has autopath (see autopathWalks).
func (cd *ClusterDNS) setupAutoPath(c *caddy.Controller) {
	c.OnStartup(func() error {
		cd.autopathInChain = dnsserver.GetConfig(c).Handler("autopath") != nil
		return nil
	})
}

func init() { caddy.RegisterParsingCallback("dns", "autopath", checkAutoPathTargets) }

// checkAutoPathTargets makes `autopath @NAME` an error that names its
// Corefile line when the server block has no plugin NAME. Stock autopath
// then silently walks nothing: a typo, or a block that lost its cluster
// plugin, takes every pod's search-list shortcut away without a word.
// `@kubernetes` names clusterdns in a block that has it (stockname.go).
//
// caddy gives a directive's setup only its own tokens, so this runs once
// autopath is set up in every block (a parsing callback) and reads the
// blocks from the Corefile of the instance being started: the last one
// caddy lists, as caddy.Start and Restart add it before they run the
// directives, in this goroutine. Validation-only runs (no instance, no
// callbacks) are not checked; the start that follows is.
func checkAutoPathTargets(caddy.Context) error {
	instances := caddy.Instances()
	if len(instances) == 0 {
		return nil
	}
	input := instances[len(instances)-1].Caddyfile()
	if input == nil {
		return nil
	}
	blocks, err := caddyfile.Parse(input.Path(), bytes.NewReader(input.Body()), caddy.ValidDirectives("dns"))
	if err != nil {
		return nil // the same text parsed a moment ago; caddy has said all there is
	}
	for _, block := range blocks {
		d := caddyfile.NewDispenserTokens(input.Path(), block.Tokens["autopath"])
		for d.Next() {
			args := d.RemainingArgs()
			if len(args) == 0 {
				continue // autopath's own setup has refused it already
			}
			name, named := strings.CutPrefix(args[len(args)-1], "@")
			if !named || blockHasPlugin(block, name) {
				continue
			}
			return d.Errf("autopath @%s: this server block has no plugin %q, so autopath would walk nothing", name, name)
		}
	}
	return nil
}

// blockHasPlugin tells whether block sets up the plugin that autopath
// @name finds: a directive of that name, or clusterdns under its stock
// name.
func blockHasPlugin(block caddyfile.ServerBlock, name string) bool {
	if _, ok := block.Tokens[name]; ok {
		return true
	}
	_, ok := block.Tokens[pluginName]
	return ok && name == stockName
}

// autopathWalks tells whether the server's autopath plugin walks the
// search list for this question of client w: it does when AutoPath knows
// the client's pod and qname is under the pod's <ns>.svc.<zone>, the first
// element of the list. search_path then leaves the question to it: autopath
// asks the first step down the chain, and an answer search_path completed
// would get autopath's CNAME on top of its own.
func (cd *ClusterDNS) autopathWalks(view *index.View, client netip.Addr, qname, zone string) bool {
	if !cd.autopathInChain || cd.cfg.Pods != resolver.PodsVerified {
		return false
	}
	ns, _, ok := view.PodAt(client)
	if !ok {
		return false
	}
	// qname ends in ".<ns>.svc.<zone>", compared in place: no string is
	// built per query.
	rest, ok := cutSuffixFold(qname, zone)
	if !ok {
		return false
	}
	if rest, ok = cutSuffixFold(rest, ".svc."); !ok {
		return false
	}
	if rest, ok = cutSuffixFold(rest, ns); !ok {
		return false
	}
	return len(rest) > 1 && rest[len(rest)-1] == '.'
}

// cutSuffixFold cuts suffix from s, compared without regard to case.
func cutSuffixFold(s, suffix string) (string, bool) {
	if len(s) < len(suffix) || !strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}
