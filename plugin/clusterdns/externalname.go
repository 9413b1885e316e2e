package clusterdns

import (
	"context"

	"github.com/coredns/coredns/request"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// chase appends to res the records of its ExternalName target outside our
// zones, resolved through the server (cache, forward) as the stock plugin
// does. The lookup is marked as ours (see Metadata).
func (cd *ClusterDNS) chase(ctx context.Context, state request.Request, res *resolver.Result) {
	if res.Chase == "" {
		return
	}
	if ctx.Value(lookupForKey{}) == nil {
		ctx = context.WithValue(ctx, lookupForKey{}, state.Req.Question[0].Name)
	}
	if m, err := cd.upstream.Lookup(ctx, state, res.Chase, state.QType()); err == nil && m != nil {
		res.Answer = append(res.Answer, m.Answer...)
	}
}
