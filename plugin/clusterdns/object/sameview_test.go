package object

import (
	"net/netip"
	"testing"
	"time"
)

func TestSameView(t *testing.T) {
	svc := func(ip string, changed time.Time, rv string) *Service {
		return (&Service{Meta: Meta{Name: "web", Namespace: "prod", Changed: StampOf(changed), ResourceVersion: rv},
			Type: ClusterIP}).SetClusterIPs([]netip.Addr{netip.MustParseAddr(ip)})
	}
	now := time.Now()
	web := svc("10.96.0.10", time.Time{}, "1")
	var nilService *Service
	for _, tc := range []struct {
		name     string
		old, obj any
		want     bool
	}{
		{"the same object", web, web, true},
		{"rewritten: change time and resourceVersion moved", web, svc("10.96.0.10", now, "2"), true},
		{"changed", web, svc("10.96.0.11", time.Time{}, "1"), false},
		{"another kind", web, &EndpointSlice{Meta: web.Meta}, false},
		{"none before", nil, web, false},
		{"a nil pointer", nilService, web, false},
		{"namespaces", &Namespace{Meta: Meta{Name: "prod", Changed: StampOf(now)}}, &Namespace{Meta: Meta{Name: "prod"}}, true},
		{"namespaces' labels", &Namespace{Meta: Meta{Name: "prod"}}, &Namespace{Meta: Meta{Name: "prod", Labels: map[string]string{"a": "b"}}}, false},
	} {
		if got := SameView(tc.old, tc.obj); got != tc.want {
			t.Errorf("%s: SameView = %v, want %v", tc.name, got, tc.want)
		}
	}
	if web.Changed != 0 || web.ResourceVersion != "1" {
		t.Errorf("SameView changed its argument: %+v", web.Meta)
	}
}

// TestMetaOf: every object kind gives its own Meta (not a copy); nil ones
// and anything else give nil, without a panic.
func TestMetaOf(t *testing.T) {
	for _, o := range []any{
		&Service{Meta: Meta{Name: "a"}}, &EndpointSlice{Meta: Meta{Name: "a"}}, &Pod{Meta: Meta{Name: "a"}},
		&Namespace{Meta: Meta{Name: "a"}}, &ServiceImport{Meta: Meta{Name: "a"}},
	} {
		m := MetaOf(o)
		if m == nil || m.Name != "a" {
			t.Fatalf("MetaOf(%T) = %v", o, m)
		}
		m.Name = "b"
		if MetaOf(o).Name != "b" {
			t.Errorf("MetaOf(%T) is a copy", o)
		}
	}
	for _, o := range []any{(*Service)(nil), (*EndpointSlice)(nil), nil, Meta{}, "a", 1} {
		if m := MetaOf(o); m != nil {
			t.Errorf("MetaOf(%#v) = %v, want nil", o, m)
		}
	}
}
