package object

import (
	"net/netip"
	"testing"
	"time"
)

func TestSameView(t *testing.T) {
	svc := func(ip string, changed time.Time, rv string) *Service {
		return &Service{Meta: Meta{Name: "web", Namespace: "prod", Changed: changed, ResourceVersion: rv},
			Type: ClusterIP, ClusterIPs: []netip.Addr{netip.MustParseAddr(ip)}}
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
		{"namespaces", &Namespace{Meta: Meta{Name: "prod", Changed: now}}, &Namespace{Meta: Meta{Name: "prod"}}, true},
		{"namespaces' labels", &Namespace{Meta: Meta{Name: "prod"}}, &Namespace{Meta: Meta{Name: "prod", Labels: map[string]string{"a": "b"}}}, false},
	} {
		if got := SameView(tc.old, tc.obj); got != tc.want {
			t.Errorf("%s: SameView = %v, want %v", tc.name, got, tc.want)
		}
	}
	if web.Changed != (time.Time{}) || web.ResourceVersion != "1" {
		t.Errorf("SameView changed its argument: %+v", web.Meta)
	}
}
