package object

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
)

// TestServiceJSONFlat: a Service is written as one flat object in the
// snapshot's key order, whatever its Go layout, from a pointer or a value,
// and reads back with an Extra only when it has one of Extra's fields (a
// single-stack cluster IP is held inline).
func TestServiceJSONFlat(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  Service
		want string
	}{
		{"plain", *(&Service{Meta: Meta{Name: "web", Namespace: "prod"}, Type: ClusterIP,
			Ports: []Port{{Name: "http", Protocol: "tcp", Port: 80}},
			TTL:   5, HasTTL: true}).SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.96.0.10")}),
			`{"name":"web","namespace":"prod","type":1,"clusterIPs":["10.96.0.10"],"ports":[{"name":"http","protocol":"tcp","port":80}],"ttl":5,"hasTTL":true}`},
		{"dual stack", *(&Service{Meta: Meta{Name: "api", Namespace: "prod"}, Type: ClusterIP}).SetClusterIPs(
			[]netip.Addr{netip.MustParseAddr("10.96.0.20"), netip.MustParseAddr("fd00:10:96::20")}),
			`{"name":"api","namespace":"prod","type":1,"clusterIPs":["10.96.0.20","fd00:10:96::20"]}`},
		{"extra", Service{Meta: Meta{Name: "ext", Namespace: "prod"}, Type: ExternalName, HasSelector: true,
			Extra: &ServiceExtra{ExternalName: "example.org.", ExternalIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")},
				ExternalHostnames: []string{"lb.example.org"}}},
			`{"name":"ext","namespace":"prod","type":3,"externalName":"example.org.","hasSelector":true,"externalIPs":["192.0.2.1"],"externalHostnames":["lb.example.org"]}`},
	} {
		for _, v := range []any{&tc.svc, tc.svc} {
			got, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("%s: %T marshals to\n%s\nwant\n%s", tc.name, v, got, tc.want)
			}
		}
		var back Service
		if err := json.Unmarshal([]byte(tc.want), &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.svc) {
			t.Errorf("%s: reads back as %+v, want %+v", tc.name, back, tc.svc)
		}
	}
}

// TestServiceExtraNil: the accessors answer a Service without Extra (most
// of them) with zero values, not a panic.
func TestServiceExtraNil(t *testing.T) {
	s := &Service{}
	if s.ExternalName() != "" || s.BadTTL() != "" || s.ExternalIPs() != nil || s.ExternalHostnames() != nil {
		t.Errorf("a Service without Extra has extra fields: %q %q %v %v", s.ExternalName(), s.BadTTL(), s.ExternalIPs(), s.ExternalHostnames())
	}
}
