package clusterdns

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
	ot "github.com/opentracing/opentracing-go"
)

// stockName is the name the stock plugins that lean on the cluster plugin
// look it up by: k8s_external always asks the server for the handler
// named "kubernetes", and Corefiles written for stock say `autopath
// @kubernetes`.
const stockName = "kubernetes"

// stockAlias is a second element of the plugin chain, right after the
// plugin, whose only purpose is its name: the server registers every
// chain element under its Name, which is how k8s_external and autopath
// find their backend, so under this name they find clusterdns and work as
// they do with stock. It hands every query on to the next plugin (the
// plugin answers its own zones before it: only queries the plugin passes
// on reach it, for the cost of one call).
//
// It offers only the interfaces those plugins look up by name. It must not
// implement transfer.Transferer, metadata.Provider or ready.Readiness,
// which the server and those plugins find by scanning every element: the
// plugin would then be asked, and counted, twice.
type stockAlias struct {
	cd   *ClusterDNS
	Next plugin.Handler
}

// ServeDNS implements plugin.Handler. It calls the next plugin itself
// rather than through plugin.NextOrFailure, which allocates a writer per
// hop to note which plugin wrote the answer: the writer it gets is the
// plugin's hop's, and only the outermost hop's name reaches the metrics
// plugin, so one more changes nothing but the cost. A traced query takes
// the usual way, which opens the next plugin's span.
func (a *stockAlias) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if a.Next == nil || ot.SpanFromContext(ctx) != nil {
		return plugin.NextOrFailure(stockName, a.Next, ctx, w, r)
	}
	return a.Next.ServeDNS(ctx, w, r)
}

// Name implements plugin.Handler.
func (a *stockAlias) Name() string { return stockName }

// AutoPath implements autopath.AutoPather.
func (a *stockAlias) AutoPath(state request.Request) []string { return a.cd.AutoPath(state) }

// External implements the Externaler interface of k8s_external.
func (a *stockAlias) External(state request.Request, headless bool) ([]msg.Service, int) {
	return a.cd.External(state, headless)
}

// ExternalAddress implements the Externaler interface of k8s_external.
func (a *stockAlias) ExternalAddress(state request.Request, headless bool) []dns.RR {
	return a.cd.ExternalAddress(state, headless)
}

// ExternalServices implements the Externaler interface of k8s_external.
func (a *stockAlias) ExternalServices(zone string, headless bool) ([]msg.Service, map[string][]msg.Service) {
	return a.cd.ExternalServices(zone, headless)
}

// ExternalSerial implements the Externaler interface of k8s_external.
func (a *stockAlias) ExternalSerial(zone string) uint32 { return a.cd.ExternalSerial(zone) }

// ExternalPerClient tells k8s_external whether its answers depend on the
// client, so that it keeps the cache off its zones as the plugin keeps it
// off its own (CacheBypassZones).
func (a *stockAlias) ExternalPerClient() bool { return a.cd.cfg.index.Visibility != nil }
