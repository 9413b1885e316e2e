package snapshot

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// scaleCluster is the bench's scale size: 10k Services (every 10th
// headless, with a 10-endpoint slice) and 150k pods.
func scaleCluster() []index.Change {
	var out []index.Change
	for i := range 10_000 {
		ns := fmt.Sprintf("ns-%d", i%100)
		name := fmt.Sprintf("svc-%d", i)
		svc := (&object.Service{Meta: object.Meta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
			Type:  object.ClusterIP,
			Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}, HasSelector: true}).SetClusterIPs([]netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})})
		if i%10 == 0 {
			svc.Type = object.Headless
			svc.SetClusterIPs(nil)
			es := &object.EndpointSlice{Meta: object.Meta{Name: name + "-abcde", Namespace: ns}, ServiceName: name,
				Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 8080}}}
			for j := range 10 {
				es.Endpoints = append(es.Endpoints, object.Endpoint{Addresses: []netip.Addr{netip.AddrFrom4([4]byte{10, 244, byte(i >> 4), byte(j)})},
					TargetPod: fmt.Sprintf("%s-%d", name, j), Ready: true})
			}
			out = append(out, index.Change{Kind: object.KindEndpointSlice, Namespace: ns, Name: es.Name, Object: es})
		}
		out = append(out, index.Change{Kind: object.KindService, Namespace: ns, Name: name, Object: svc})
	}
	for i := range 150_000 {
		ns := fmt.Sprintf("ns-%d", i%100)
		name := fmt.Sprintf("deploy-%d-7d9f8b6c5d-x%05d", i/10, i)
		out = append(out, index.Change{Kind: object.KindPod, Namespace: ns, Name: name, Object: &object.Pod{
			Meta: object.Meta{Name: name, Namespace: ns}, IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}}})
	}
	return out
}

// BenchmarkStartScale is what a start from a snapshot costs at the
// Kubernetes scale limits, decoding and indexing (pods verified): it must
// stay well inside a second.
func BenchmarkStartScale(b *testing.B) {
	var buf bytes.Buffer
	if err := encodeAll(&buf, Header{Source: "s"}, scaleCluster()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(buf.Len())/(1<<20), "MiB")
	b.ResetTimer()
	for b.Loop() {
		_, changes, err := Decode(buf.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		index.New(index.Options{Pods: true}).Preload(changes)
	}
}

// BenchmarkEncodeScale is a save's CPU and garbage at the scale limits,
// without the file (a discarding writer).
func BenchmarkEncodeScale(b *testing.B) {
	changes := scaleCluster()
	for b.Loop() {
		if err := encodeAll(io.Discard, Header{Source: "s"}, changes); err != nil {
			b.Fatal(err)
		}
	}
}
