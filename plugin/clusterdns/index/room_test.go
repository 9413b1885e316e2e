package index

import (
	"fmt"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestBatchRoomNotKept checks that the writer's per-batch bookkeeping
// does not keep the room of a big batch (a manifests file's Replace, a
// relist's burst), which the collector would scan for as long as it is
// held, and that a small batch reuses it.
func TestBatchRoomNotKept(t *testing.T) {
	ix := New(Options{Programmed: func(ServiceKind, time.Duration) {}})
	ix.Synced()
	batch := func(n int) []Change {
		var out []Change
		for i := range n {
			name := fmt.Sprintf("svc-%d", i)
			out = append(out, Change{Kind: object.KindService, Namespace: "prod", Name: name,
				Object: &object.Service{Meta: object.Meta{Name: name, Namespace: "prod", Changed: object.StampOf(time.Now())}, Type: object.Headless}})
		}
		return out
	}
	dirty := func() unsafe.Pointer { return reflect.ValueOf(ix.cluster.dirty).UnsafePointer() }
	small := dirty()
	ix.ApplyDeferred(batch(keptRoom)...)
	if dirty() != small {
		t.Error("a small batch's dirty set was made anew")
	}
	ix.ApplyDeferred(batch(4 * keptRoom)...)
	if dirty() == small {
		t.Error("a big batch's dirty set is kept, with its room")
	}
	ix.publishPending()
	if cap(ix.pending) > keptRoom {
		t.Errorf("the pending programming times keep room for %d after a publish, want at most %d", cap(ix.pending), keptRoom)
	}
}
