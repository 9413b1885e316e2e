package clusterdns

import (
	"net/netip"
	"strings"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Namespace-scoped visibility (the visibility option): a client pod sees
// the names of its own namespace and of the namespaces exported to it, and
// every other cluster name answers as if it did not exist. The index
// decides who sees what (index/visibility.go) and the resolver answers
// accordingly; this file is the glue: the option, the client of a query,
// and the cache.

// parseVisibility parses the visibility option:
//
//	visibility {
//	    export NAMESPACE... to SELECTOR|*
//	    nonpod all|exported
//	}
//
// args are its arguments (none); the block, when there is one, is still to
// be read.
func parseVisibility(c *caddy.Controller, args []string) (*index.Visibility, error) {
	if len(args) != 0 {
		return nil, c.ArgErr()
	}
	v := &index.Visibility{}
	// RemainingArgs stops at an opening brace and leaves it on the line.
	if !c.NextArg() {
		return v, nil
	}
	seenNonPod := false
	for {
		if !c.Next() {
			return nil, c.EOFErr()
		}
		opt := c.Val()
		if opt == "}" {
			return v, nil
		}
		args := c.RemainingArgs()
		switch opt {
		case "export":
			x, err := parseExport(c, args)
			if err != nil {
				return nil, err
			}
			v.Exports = append(v.Exports, x)
		case "nonpod":
			if seenNonPod {
				return nil, c.Errf("visibility: option %q given twice", opt)
			}
			seenNonPod = true
			if len(args) != 1 {
				return nil, c.ArgErr()
			}
			switch args[0] {
			case "all":
				v.NonPodAll = true
			case "exported":
			default:
				return nil, c.Errf("visibility: nonpod must be all or exported, got %q", args[0])
			}
		default:
			return nil, c.Errf("visibility: unknown property %q", opt)
		}
	}
}

// parseExport parses `export NAMESPACE... to SELECTOR|*`; the selector may
// span several arguments ("team in (a, b)").
func parseExport(c *caddy.Controller, args []string) (index.Export, error) {
	to := -1
	for i, a := range args {
		if a == "to" {
			to = i
			break
		}
	}
	if to < 1 || to == len(args)-1 {
		return index.Export{}, c.Errf("visibility: export takes NAMESPACE... to SELECTOR|*")
	}
	x := index.Export{}
	for _, ns := range args[:to] {
		if !validLabel(ns) {
			return index.Export{}, c.Errf("visibility: export: %q is not a valid namespace name", ns)
		}
		x.Namespaces = append(x.Namespaces, strings.ToLower(ns))
	}
	expr := strings.Join(args[to+1:], " ")
	all, sel, err := index.ParseVisibleTo(expr)
	if err != nil {
		return index.Export{}, c.Errf("visibility: export: invalid label selector %q: %v", expr, err)
	}
	x.All, x.To = all, sel
	return x, nil
}

// reportBadSelector logs a namespace whose visible-to annotation does not
// parse, once per value: the namespace exports nothing by it.
func reportBadSelector(namespace, value string, err error) {
	log.Warningf("namespace %s: ignoring %s %q: %v; nothing is exported by it", namespace, object.VisibleToAnnotation, value, err)
	badVisibleTo.Inc()
}

// clientOf returns who asks a query from w, as visibility sees it (see
// clientAt).
func (cd *ClusterDNS) clientOf(view *index.View, w dns.ResponseWriter) index.Client {
	if cd.cfg.index.Visibility == nil {
		return index.Client{} // spares reading the address
	}
	return view.ClientAt(clientIP(w))
}

// clientAt returns who asks from addr, as visibility sees it: the pod
// holding the address (index.View.ClientAt). Without the option, every
// client sees everything and the address is not looked at.
func (cd *ClusterDNS) clientAt(view *index.View, addr netip.Addr) index.Client {
	if cd.cfg.index.Visibility == nil {
		return index.Client{}
	}
	return view.ClientAt(addr)
}

// CacheBypassZones implements the cache plugin's ZoneBypasser: under the
// visibility option, the cache in front of the plugin neither answers nor
// stores names of its zones. Its key is the question, not the client, so a
// cached answer would go from one tenant to another: an address to a pod
// that may not see it, or an NXDOMAIN to one that may. The cache finds
// this in its OnStartup, whatever its Corefile says. Without the option,
// nil: the cache works as configured.
func (cd *ClusterDNS) CacheBypassZones() []string {
	if cd.cfg.index.Visibility == nil {
		return nil
	}
	return cd.Zones
}
