package clusterdns

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// The plugin's own lookups carry the name the client asked; the clients'
// queries carry no label.
func TestMetadata(t *testing.T) {
	cd := New([]string{"cluster.local."})
	state := request.Request{W: &test.ResponseWriter{}, Req: new(dns.Msg).SetQuestion("www.example.org.", dns.TypeA)}
	for _, tt := range []struct {
		name  string
		asked string // the lookup-for value in the context, "" for none
	}{
		{name: "a lookup of ours", asked: "www.example.org.prod.svc.cluster.local."},
		{name: "a client's query"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.ContextWithMetadata(context.Background())
			if tt.asked != "" {
				ctx = context.WithValue(ctx, lookupForKey{}, tt.asked)
			}
			ctx = cd.Metadata(ctx, state)
			fn := metadata.ValueFunc(ctx, metaLookupFor)
			switch {
			case tt.asked == "" && fn != nil:
				t.Errorf("a client's query labelled %s=%q", metaLookupFor, fn())
			case tt.asked != "" && fn == nil:
				t.Errorf("a lookup of ours not labelled %s", metaLookupFor)
			case tt.asked != "" && fn() != tt.asked:
				t.Errorf("%s = %q, want %q", metaLookupFor, fn(), tt.asked)
			}
		})
	}
}
