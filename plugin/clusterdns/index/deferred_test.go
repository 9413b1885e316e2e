package index_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

func clusterIPService(i int) *object.Service {
	return (&object.Service{
		Meta: object.Meta{Name: fmt.Sprintf("svc-%d", i), Namespace: "prod", Changed: object.StampOf(time.Now())},
		Type: object.ClusterIP,
	}).SetClusterIPs([]netip.Addr{ip(fmt.Sprintf("10.96.%d.%d", i/256, i%256))})
}

// Deferred changes are not served until the publisher publishes them, and
// then all at once, with their programming latency observed.
func TestApplyDeferredPublishesCoalesced(t *testing.T) {
	var observed atomic.Int64
	ix := index.New(index.Options{Programmed: func(index.ServiceKind, time.Duration) { observed.Add(1) }})
	ix.Synced()
	const n = 1000
	for i := range n {
		ix.ApplyDeferred(svcChange(clusterIPService(i)))
	}
	if ix.View().Service([]byte("svc-0.prod")) != nil {
		t.Fatal("a deferred change was served before the publisher ran")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bursts := make(chan int, 1)
	before := ix.View()
	go ix.RunPublisher(ctx, func(changes int) { bursts <- changes })
	select {
	case got := <-bursts:
		// One publish held the whole burst: the publisher reports bursts
		// by the changes they held, and all 1000 arrived before it ran.
		if got != n {
			t.Errorf("burst of %d changes, want %d", got, n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the publisher reported no quiet after the burst")
	}
	snap := ix.View()
	if snap == before {
		t.Fatal("nothing published")
	}
	for i := range n {
		if snap.Service(fmt.Appendf(nil, "svc-%d.prod", i)) == nil {
			t.Fatalf("svc-%d not published", i)
		}
	}
	if got := observed.Load(); got != n {
		t.Errorf("programming latency observed for %d changes, want %d", got, n)
	}

	// A single change after the quiet spell is published at once.
	begin := time.Now()
	ix.ApplyDeferred(svcChange(clusterIPService(n)))
	for ix.View().Service(fmt.Appendf(nil, "svc-%d.prod", n)) == nil {
		if time.Since(begin) > time.Second {
			t.Fatal("a single deferred change was not published")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// Before the source syncs, deferred changes build up the first snapshot
// without publishing anything, and are not published again after it.
func TestApplyDeferredBeforeSync(t *testing.T) {
	ix := index.New(index.Options{})
	ix.ApplyDeferred(svcChange(clusterIPService(1)))
	// The publisher, woken by the change, finds nothing to publish.
	if n := index.PublishPending(ix); n != 0 || ix.View() != nil {
		t.Fatalf("published %d changes before the source synced", n)
	}
	ix.Synced()
	if ix.View().Service([]byte("svc-1.prod")) == nil {
		t.Fatal("a change applied before the sync is missing from the first snapshot")
	}
	if n := index.PublishPending(ix); n != 0 {
		t.Errorf("%d changes published again after the sync, want 0", n)
	}
}
