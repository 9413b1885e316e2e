package clusterdns

import (
	"context"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"
)

// metaLookupFor labels the lookups the plugin makes through the server
// (see Metadata).
const metaLookupFor = pluginName + "/lookup-for"

// lookupForKey marks the context of the lookups the plugin makes through
// the server, to walk a search path or to chase an ExternalName; its value
// is the name the client asked.
type lookupForKey struct{}

// Metadata implements metadata.Provider: the lookups the plugin makes
// through the server (the names of a search-path walk, the targets of
// ExternalName services) carry the label clusterdns/lookup-for, whose value
// is the name the client asked, so that the log plugin can tell them from
// the clients' own queries ({/clusterdns/lookup-for} is "-" for those).
func (cd *ClusterDNS) Metadata(ctx context.Context, _ request.Request) context.Context {
	if asked, ok := ctx.Value(lookupForKey{}).(string); ok {
		metadata.SetValueFunc(ctx, metaLookupFor, func() string { return asked })
	}
	return ctx
}
