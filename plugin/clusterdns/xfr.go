package clusterdns

import (
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// Transfer implements transfer.Transferer: AXFR of a cluster zone, and
// IXFR answered with the SOA alone when the client is up to date, else
// with the whole zone (AXFR fallback), as stock does. The zone is read from
// one view, the one the handler answers from at the time of the request,
// and built by the resolver, so it holds exactly what queries get.
//
// The records go out one service at a time: the transfer plugin packs
// them into messages of up to 64 KiB as they come, so a zone of 10k
// Services is never held whole in memory.
func (cd *ClusterDNS) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	if !cd.resolver.Transferable(zone) {
		return nil, transfer.ErrNotAuthoritative
	}
	view := cd.index.View()
	if view == nil {
		// An empty zone now would make secondaries drop every name.
		return nil, errNotSynced
	}
	ch := make(chan []dns.RR)
	go func() {
		defer close(ch)
		if serial != 0 && !serialBefore(serial, view.Serial()) {
			ch <- []dns.RR{cd.resolver.SOA(view, zone)}
			return
		}
		cd.resolver.Transfer(view, zone, func(rrs []dns.RR) { ch <- rrs })
	}()
	return ch, nil
}

// serialBefore tells whether serial a is older than b in RFC 1982 serial
// number arithmetic.
func serialBefore(a, b uint32) bool { return int32(a-b) < 0 }

// setupTransfer makes the plugin send NOTIFY for its zones through the
// transfer plugin, when the Corefile has one, each time the view changes.
// The transfer plugin is looked up in OnStartup: only then are all the
// server block's plugins set up.
func (cd *ClusterDNS) setupTransfer(c *caddy.Controller) {
	stop := make(chan struct{})
	var once sync.Once
	c.OnStartup(func() error {
		t, _ := dnsserver.GetConfig(c).Handler("transfer").(*transfer.Transfer)
		if t != nil {
			go cd.notifyOnChange(t, stop)
		}
		return nil
	})
	c.OnShutdown(func() error {
		once.Do(func() { close(stop) })
		return nil
	})
}

// notifyOnChange sends NOTIFY for every transferable zone once the first
// view is served and then each time a new view replaces it, until stop is
// closed. Views are published only when what they show changes, so each
// NOTIFY announces a new serial; changes made while NOTIFYs are being sent
// are announced by one more round, not one per change. It waits on the
// index's channels: the query path pays nothing for it.
func (cd *ClusterDNS) notifyOnChange(t *transfer.Transfer, stop <-chan struct{}) {
	var zones []string
	for _, z := range cd.Zones {
		if cd.resolver.Transferable(z) {
			zones = append(zones, z)
		}
	}
	var served *index.View
	for {
		select {
		case <-stop:
			return
		case <-cd.index.Replaced(served):
		}
		served = cd.index.View()
		for _, z := range zones {
			if err := t.Notify(z); err != nil {
				log.Warningf("notify: %v", err)
			}
		}
	}
}
