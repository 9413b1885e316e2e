package external

import (
	"fmt"
	"strconv"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
)

const pluginName = "k8s_external"

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	e, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// The backend is looked up in OnStartup: only then has every plugin of
	// the server block been set up and registered under its name.
	config := dnsserver.GetConfig(c)
	e.config = config
	c.OnStartup(func() error {
		h := config.Handler(backendName)
		if h == nil {
			return plugin.Error(pluginName, fmt.Errorf("%s: no cluster plugin in this server block: k8s_external needs clusterdns in the same server block", e.directiveAt))
		}
		backend, ok := h.(Externaler)
		if !ok {
			return plugin.Error(pluginName, fmt.Errorf("%s: the plugin named %q does not offer k8s_external's lookups", e.directiveAt, backendName))
		}
		e.backend = backend
		return nil
	})
	config.AddPlugin(func(next plugin.Handler) plugin.Handler {
		e.Next = next
		return e
	})
	return nil
}

// parse reads
//
//	k8s_external [ZONE...] {
//	    apex APEX
//	    ttl TTL
//	    headless
//	    fallthrough [ZONE...]
//	}
func parse(c *caddy.Controller) (*External, error) {
	e := New()
	var zones []string
	for c.Next() {
		e.directiveAt = fmt.Sprintf("%s:%d", c.File(), c.Line())
		zones = plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys)
		for c.NextBlock() {
			switch c.Val() {
			case "apex":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.ArgErr()
				}
				// Stock allows more than one label; only a name that is no
				// domain name (or the root) is refused.
				if _, ok := dns.IsDomainName(args[0]); !ok || dns.CountLabel(args[0]) == 0 {
					return nil, c.Errf("apex must be a relative domain name: %q", args[0])
				}
				e.apex = args[0]
			case "ttl":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.ArgErr()
				}
				t, err := strconv.Atoi(args[0])
				if err != nil {
					return nil, c.Errf("ttl must be a number of seconds: %q", args[0])
				}
				if t < 0 || t > 3600 {
					return nil, c.Errf("ttl must be in range [0, 3600]: %d", t)
				}
				e.ttl = uint32(t)
			case "headless":
				if c.NextArg() {
					return nil, c.ArgErr()
				}
				e.headless = true
			case "fallthrough":
				e.Fall.SetZonesFromArgs(c.RemainingArgs())
			default:
				return nil, c.Errf("unknown property %q", c.Val())
			}
		}
	}
	e.setZones(zones)
	return e, nil
}
