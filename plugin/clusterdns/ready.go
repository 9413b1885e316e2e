package clusterdns

import (
	"net"
	"net/netip"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

// Ready implements ready.Readiness: the plugin is ready once its source has
// synced (or, with snapshot_ready, once it serves a snapshot from disk),
// and the server's own port answers a query for the first zone. CoreDNS
// serves /ready before its DNS listeners are up (stock says ready tens of
// milliseconds before its port answers); a pod that says Ready joins the
// kube-dns Service at once, and every query sent to it before it answers
// is a timeout for some client. The probe runs on /ready requests only,
// until the first answer.
func (cd *ClusterDNS) Ready() bool {
	if cd.index.View() == nil {
		return false
	}
	if !cd.index.Live() && !cd.cfg.snapshotReady {
		return false
	}
	if cd.answering.Load() {
		return true
	}
	if cd.selfProbe != "" && !answers(cd.selfProbe, cd.Zones[0]) {
		return false
	}
	cd.answering.Store(true)
	return true
}

// selfProbeTimeout bounds one probe; /ready is asked again by the kubelet.
const selfProbeTimeout = 200 * time.Millisecond

// answers reports whether a DNS server at addr replies, with any rcode, to
// a SOA query for zone over UDP.
func answers(addr, zone string) bool {
	c := &dns.Client{Net: "udp", Timeout: selfProbeTimeout}
	_, _, err := c.Exchange(new(dns.Msg).SetQuestion(zone, dns.TypeSOA), addr)
	return err == nil
}

// selfProbeAddr is where Ready asks: the first address the server block
// binds (loopback of the same family for a wildcard), on its port. Only
// plain DNS blocks are probed; a DoT or DoH block (no UDP port) counts as
// answering once synced.
func selfProbeAddr(conf *dnsserver.Config) string {
	if conf.Transport != "dns" || conf.Port == "" {
		return ""
	}
	host := "127.0.0.1"
	if len(conf.ListenHosts) > 0 && conf.ListenHosts[0] != "" {
		if a, err := netip.ParseAddr(conf.ListenHosts[0]); err == nil {
			switch {
			case a.IsUnspecified() && a.Is6():
				host = "::1"
			case !a.IsUnspecified():
				host = a.String()
			}
		}
	}
	return net.JoinHostPort(host, conf.Port)
}
