package snapshot

import (
	"bytes"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// FuzzSnapshot feeds arbitrary object lines, framed with a valid checksum
// (random bytes would never get past it), and arbitrary whole files to
// Decode, and what decodes into an index. Neither may panic, and what
// decodes must encode and decode again to as many objects.
func FuzzSnapshot(f *testing.F) {
	// Each object line of a good snapshot, and a good snapshot whole.
	good := encode(f, sampleHeader, sample())
	lines := bytes.Split(good, []byte("\n"))
	for _, line := range lines[1 : len(lines)-2] {
		f.Add(1, append(line, '\n'), false)
	}
	f.Add(0, good, true)
	f.Add(0, []byte(""), false)
	f.Add(1, []byte("Service\t{\"name\":\"a\",\"namespace\":\"b\",\"type\":1,\"clusterIPs\":[\"10.0.0.1\"]}\n"), false)
	f.Add(1, []byte("EndpointSlice\t{\"name\":\"a\",\"namespace\":\"b\",\"serviceName\":\"a\",\"endpoints\":[{\"addresses\":[\"fd00::1\"],\"hostname\":\"h\"}]}\n"), false)
	f.Add(0, []byte(magic+" 1 {}\nend sha256:00\n"), true)
	f.Fuzz(func(t *testing.T, objects int, data []byte, raw bool) {
		in := data
		if !raw {
			in = frame(objects, string(data))
		}
		_, changes, err := Decode(in)
		if err != nil {
			return
		}
		ix := index.New(index.Options{Pods: true, EndpointPodNames: true})
		ix.Preload(changes)
		ix.Synced()
		ix.Replace(changes)
		if ix.View() == nil {
			t.Fatal("no view after Replace")
		}
		// Round trip: what decodes is what encodes.
		var buf bytes.Buffer
		if err := encodeAll(&buf, Header{}, changes); err != nil {
			t.Fatalf("re-encoding decoded objects: %v", err)
		}
		if _, again, err := Decode(buf.Bytes()); err != nil || len(again) != len(changes) {
			t.Fatalf("re-decoding: %d objects of %d, %v", len(again), len(changes), err)
		}
	})
}
