package index_test

import (
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// zonedSlice is prod/web's slice with one endpoint per zone given ("": no
// zone), at 10.0.0.1 on.
func zonedSlice(zones ...string) *object.EndpointSlice {
	es := &object.EndpointSlice{Meta: object.Meta{Name: "web-1", Namespace: "prod"}, ServiceName: "web",
		Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
	for i, z := range zones {
		es.Endpoints = append(es.Endpoints, object.Endpoint{Addresses: []netip.Addr{addrN(i + 1)}, Zone: object.MakeZone(z), Ready: true})
	}
	return es
}

func zoneOf(t *testing.T, v *index.View, name string) index.ZoneID {
	t.Helper()
	id, ok := v.ZoneID([]byte(name))
	if !ok || id == 0 {
		t.Fatalf("zone %q: id %d, known %v; want a number", name, id, ok)
	}
	return id
}

// TestZones: with Zonal, each endpoint carries its zone's number, a change
// of zone alone is a change of the view, and a view keeps the numbers it
// was published with while the writer numbers new zones.
func TestZones(t *testing.T) {
	ix := index.New(index.Options{Zonal: true})
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless}), sliceChange(zonedSlice("a", "b", "")))
	ix.Synced()
	before := ix.View()
	eps := slices.Collect(before.Service([]byte("web.prod")).Endpoints())
	a, b := zoneOf(t, before, "a"), zoneOf(t, before, "b")
	if a == b || eps[0].Zone != a || eps[1].Zone != b || eps[2].Zone != 0 {
		t.Fatalf("zones of the endpoints = %d %d %d, want %d %d 0", eps[0].Zone, eps[1].Zone, eps[2].Zone, a, b)
	}
	if _, ok := before.ZoneID([]byte("c")); ok {
		t.Fatal("a zone no endpoint has is known")
	}

	// One endpoint moves to a new zone: nothing else changes.
	ix.Apply(sliceChange(zonedSlice("c", "b", "")))
	after := ix.View()
	if after == before || after.Serial() == before.Serial() {
		t.Fatal("a change of zone kept the view and its serial")
	}
	c := zoneOf(t, after, "c")
	if got := slices.Collect(after.Service([]byte("web.prod")).Endpoints())[0].Zone; got != c || c == a || c == b {
		t.Fatalf("moved endpoint in zone %d, want %d (new)", got, c)
	}
	if zoneOf(t, after, "a") != a || zoneOf(t, after, "b") != b {
		t.Fatal("zone numbers changed")
	}
	if _, ok := before.ZoneID([]byte("c")); ok {
		t.Fatal("a published view's zones changed under its readers")
	}
}

// TestZonesOff: without Zonal, endpoints carry no zone, and a change of
// zone alone publishes nothing (the serial stays).
func TestZonesOff(t *testing.T) {
	ix := index.New(index.Options{})
	ix.Apply(svcChange(&object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.Headless}), sliceChange(zonedSlice("a")))
	ix.Synced()
	before := ix.View()
	if _, ok := before.ZoneID([]byte("a")); ok || slices.Collect(before.Service([]byte("web.prod")).Endpoints())[0].Zone != 0 {
		t.Fatal("zones kept without the option")
	}
	ix.Apply(sliceChange(zonedSlice("b")))
	if ix.View() != before {
		t.Fatal("a change of zone published a view without the option")
	}
}

// TestEndpointSizeWithZone: the zone's number sits in what was padding, so
// a published endpoint costs no more than before zones were kept.
func TestEndpointSizeWithZone(t *testing.T) {
	type withoutZone struct { // Addr, Name, ports, hash
		_ netip.Addr
		_ string
		_ *[]object.Port
		_ uint32
	}
	if got, want := unsafe.Sizeof(index.Endpoint{}), unsafe.Sizeof(withoutZone{}); got != want {
		t.Fatalf("index.Endpoint is %d bytes, %d without its zone", got, want)
	}
}
