package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

var update = flag.Bool("update", false, "rewrite the golden file of this Version in testdata")

// sample holds one object of each kind with every field set.
func sample() []index.Change {
	a := netip.MustParseAddr
	return []index.Change{
		{Kind: object.KindNamespace, Name: "prod", Object: &object.Namespace{Meta: object.Meta{Name: "prod", Labels: map[string]string{"dns": "on"}}}},
		{Kind: object.KindNamespace, Name: "shared", Object: &object.Namespace{Meta: object.Meta{Name: "shared"}, VisibleTo: "team=a"}},
		{Kind: object.KindService, Namespace: "prod", Name: "web", Object: (&object.Service{
			Meta:        object.Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}},
			Type:        object.ClusterIP,
			Ports:       []object.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Protocol: "udp", Port: 53}},
			HasSelector: true, TTL: 30, HasTTL: true,
		}).SetClusterIPs([]netip.Addr{a("10.96.0.10"), a("fd00::10")})},
		{Kind: object.KindService, Namespace: "prod", Name: "db", Object: &object.Service{
			Meta: object.Meta{Name: "db", Namespace: "prod"}, Type: object.Headless, PublishNotReadyAddresses: true,
		}},
		{Kind: object.KindService, Namespace: "prod", Name: "lb", Object: (&object.Service{
			Meta: object.Meta{Name: "lb", Namespace: "prod"}, Type: object.ClusterIP,
			Extra: &object.ServiceExtra{ExternalIPs: []netip.Addr{a("192.0.2.1"), a("2001:db8::1")}, ExternalHostnames: []string{"lb.example.org"}},
		}).SetClusterIPs([]netip.Addr{a("10.96.0.11")})},
		{Kind: object.KindService, Namespace: "prod", Name: "ext", Object: &object.Service{
			Meta: object.Meta{Name: "ext", Namespace: "prod"}, Type: object.ExternalName, Extra: &object.ServiceExtra{ExternalName: "example.org."},
		}},
		{Kind: object.KindEndpointSlice, Namespace: "prod", Name: "db-x1", Object: &object.EndpointSlice{
			Meta: object.Meta{Name: "db-x1", Namespace: "prod"}, ServiceName: "db",
			Ports: []object.Port{{Name: "pg", Protocol: "tcp", Port: 5432}},
			Endpoints: []object.Endpoint{
				{Addresses: []netip.Addr{a("10.244.1.7")}, Hostname: "db-0", TargetPod: "db-0", Zone: object.MakeZone("us-west-2a"), Ready: true},
				{Addresses: []netip.Addr{a("10.244.2.8")}, TargetPod: "db-1"},
			},
		}},
		{Kind: object.KindServiceImport, Namespace: "prod", Name: "shop", Object: &object.ServiceImport{
			Meta: object.Meta{Name: "shop", Namespace: "prod", Labels: map[string]string{"app": "shop"}}, Type: object.ClusterIP,
			IPs: []netip.Addr{a("10.100.0.10")}, Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
		}},
		{Kind: object.KindEndpointSlice, Namespace: "prod", Name: "shop-cluster-a", Object: &object.EndpointSlice{
			Meta: object.Meta{Name: "shop-cluster-a", Namespace: "prod"}, MultiClusterService: "shop", SourceCluster: "cluster-a",
			Ports:     []object.Port{{Name: "http", Protocol: "tcp", Port: 80}},
			Endpoints: []object.Endpoint{{Addresses: []netip.Addr{a("10.1.0.1")}, Hostname: "shop-0", Ready: true}},
		}},
		{Kind: object.KindPod, Namespace: "prod", Name: "db-0", Object: &object.Pod{
			Meta: object.Meta{Name: "db-0", Namespace: "prod"}, IPs: []netip.Addr{a("10.244.1.7"), a("fd00::1:7")},
		}},
	}
}

var sampleHeader = Header{Written: time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC), Source: "https://127.0.0.1:6443 pods"}

func encode(t testing.TB, h Header, changes []index.Change) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := encodeAll(&buf, h, changes); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	h, got, err := Decode(encode(t, sampleHeader, want))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Written.Equal(sampleHeader.Written) || h.Source != sampleHeader.Source || h.Objects != len(want) {
		t.Errorf("header %+v, want %+v with %d objects", h, sampleHeader, len(want))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded objects differ:\n got %+v\nwant %+v", got, want)
	}
}

// TestGolden pins the format: the objects' json tags are its schema, so a
// renamed or added field fails here. Bump Version, then `go test -update`.
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "v"+strconv.Itoa(Version)+".snapshot")
	got := encode(t, sampleHeader, sample())
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the format changed (bump Version and run go test -update):\n got %s\nwant %s", got, want)
	}
	if _, _, err := Decode(want); err != nil {
		t.Errorf("golden file: %v", err)
	}
}

// TestReadsOldVersions keeps snapshots written by older builds readable:
// their objects come back without the fields and kinds added since
// (version 1: a Service's external addresses; versions 1 and 2: endpoints'
// zones; versions 1 to 3: a Namespace's visibleTo; versions 1 to 4:
// ServiceImports and multi-cluster slices), and without the fields dropped
// since (versions 1 to 5: endpoints' nodeName).
func TestReadsOldVersions(t *testing.T) {
	for _, tc := range []struct {
		version  int
		lacks    []string // sample objects the file does not hold
		zoneless bool     // written before endpoints' zones were saved
	}{
		{version: 1, lacks: []string{"lb", "shared", "shop", "shop-cluster-a"}, zoneless: true},
		{version: 2, lacks: []string{"shared", "shop", "shop-cluster-a"}, zoneless: true},
		{version: 3, lacks: []string{"shared", "shop", "shop-cluster-a"}},
		{version: 4, lacks: []string{"shop", "shop-cluster-a"}},
		{version: 5},
	} {
		t.Run(strconv.Itoa(tc.version), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "v"+strconv.Itoa(tc.version)+".snapshot"))
			if err != nil {
				t.Fatal(err)
			}
			_, got, err := Decode(data)
			if err != nil {
				t.Fatalf("version %d snapshot refused: %v", tc.version, err)
			}
			var want []index.Change
			for _, c := range sample() {
				if slices.Contains(tc.lacks, c.Name) {
					continue
				}
				if es, ok := c.Object.(*object.EndpointSlice); ok && tc.zoneless {
					zoneless := *es
					zoneless.Endpoints = slices.Clone(es.Endpoints)
					for i := range zoneless.Endpoints {
						zoneless.Endpoints[i].Zone = object.Zone{}
					}
					c.Object = &zoneless
				}
				want = append(want, c)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded objects differ:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// versionTag is how the first line names format version v.
func versionTag(v int) []byte { return []byte(magic + " " + strconv.Itoa(v) + " ") }

func TestDecodeRefuses(t *testing.T) {
	good := encode(t, sampleHeader, sample())
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0x20                                                     // one bit, in the middle of an object line
	lines := bytes.SplitAfter(bytes.TrimSuffix(good, []byte("\n")), []byte("\n")) // the last without its newline
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{name: "empty", data: nil, want: ErrForeign},
		{name: "yaml manifests", data: []byte("apiVersion: v1\nkind: List\nitems: []\n"), want: ErrForeign},
		{name: "next version", data: bytes.Replace(good, versionTag(Version), versionTag(Version+1), 1), want: ErrVersion},
		{name: "version 0", data: bytes.Replace(good, versionTag(Version), versionTag(0), 1), want: ErrVersion},
		{name: "first line only", data: lines[0], want: ErrTruncated},
		{name: "cut mid-line", data: good[:len(good)-len(lines[len(lines)-2])/2-len(lines[len(lines)-1])-1], want: ErrTruncated},
		{name: "trailer lost", data: bytes.Join(lines[:len(lines)-1], nil), want: ErrTruncated},
		{name: "no final newline", data: good[:len(good)-1], want: ErrTruncated},
		{name: "trailer cut", data: good[:len(good)-10], want: ErrTruncated},
		{name: "a line lost", data: append(append(bytes.Join(lines[:2], nil), bytes.Join(lines[3:], nil)...), '\n'), want: ErrCorrupt},
		{name: "bit flipped", data: flip, want: ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, changes, err := Decode(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
			if changes != nil {
				t.Errorf("refused snapshot returned %d objects", len(changes))
			}
		})
	}
}

// TestDecodeLineErrors: a line the checksum vouches for can still be
// something the index must not see (a file written by hand, a bug).
func TestDecodeLineErrors(t *testing.T) {
	for _, tc := range []struct {
		name, line string
	}{
		{name: "no tab", line: `Service {"name":"a","namespace":"b","type":1}`},
		{name: "unknown kind", line: "Deployment\t{\"name\":\"a\",\"namespace\":\"b\"}"},
		{name: "bad json", line: "Service\t{\"name\":"},
		{name: "no name", line: "Service\t{\"namespace\":\"b\",\"type\":1}"},
		{name: "namespaced namespace", line: "Namespace\t{\"name\":\"a\",\"namespace\":\"b\"}"},
		{name: "service without namespace", line: "Service\t{\"name\":\"a\",\"type\":1}"},
		{name: "service type 0", line: "Service\t{\"name\":\"a\",\"namespace\":\"b\"}"},
		{name: "service type 9", line: "Service\t{\"name\":\"a\",\"namespace\":\"b\",\"type\":9}"},
		{name: "empty cluster IP", line: "Service\t{\"name\":\"a\",\"namespace\":\"b\",\"type\":1,\"clusterIPs\":[\"\"]}"},
		{name: "bad address", line: "Pod\t{\"name\":\"a\",\"namespace\":\"b\",\"ips\":[\"10.1.2\"]}"},
		{name: "empty endpoint address", line: "EndpointSlice\t{\"name\":\"a\",\"namespace\":\"b\",\"serviceName\":\"s\",\"endpoints\":[{\"addresses\":[\"\"]}]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Decode(frame(1, tc.line+"\n")); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Decode: %v, want ErrCorrupt", err)
			}
		})
	}
}

// frame wraps object lines into a snapshot with a valid header and
// checksum, as Encode would.
func frame(objects int, lines string) []byte {
	var buf bytes.Buffer
	buf.WriteString(magic + " 1 {\"written\":\"2026-11-26T04:00:00Z\",\"source\":\"s\",\"objects\":")
	buf.WriteString(strconv.Itoa(objects) + "}\n")
	buf.WriteString(lines)
	sum := sha256.Sum256(buf.Bytes())
	buf.WriteString(trailer + hex.EncodeToString(sum[:]) + "\n")
	return buf.Bytes()
}

func TestReadWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	if _, _, err := Read(path, "s"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read before any Write: %v, want not exist", err)
	}
	if err := writeAll(path, Header{Source: "s"}, sample()); err != nil {
		t.Fatal(err)
	}
	if _, changes, err := Read(path, "s"); err != nil || len(changes) != len(sample()) {
		t.Fatalf("Read: %d objects, %v", len(changes), err)
	}
	if _, _, err := Read(path, "other"); !errors.Is(err, ErrForeign) {
		t.Errorf("Read for another source: %v, want ErrForeign", err)
	}

	// A write that fails keeps the last snapshot whole and leaves no
	// temporary file behind.
	bad := append(sample(), index.Change{Kind: object.Kind(99), Name: "x", Object: struct{}{}})
	if err := writeAll(path, Header{Source: "s"}, bad); err == nil {
		t.Fatal("Write of an unknown kind succeeded")
	}
	if _, changes, err := Read(path, "s"); err != nil || len(changes) != len(sample()) {
		t.Errorf("after a failed write: %d objects, %v; want the earlier snapshot", len(changes), err)
	}
	// A count that does not match the objects would make a file Decode
	// refuses as corrupt: the write fails instead.
	if err := Write(path, Header{Source: "s"}, len(sample())+1, slices.Values(sample())); err == nil {
		t.Fatal("Write of fewer objects than announced succeeded")
	}
	if _, changes, err := Read(path, "s"); err != nil || len(changes) != len(sample()) {
		t.Errorf("after a miscounted write: %d objects, %v; want the earlier snapshot", len(changes), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files after a failed write: %v, want only the snapshot", names)
	}
}

// TestRemoveStale: temp files a killed writer left are removed, a young
// one (a write in progress) and the snapshot itself are kept.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	if err := writeAll(path, Header{Source: "s"}, sample()); err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, ".snapshot.111"), filepath.Join(dir, ".snapshot.222")
	for _, f := range []string{old, young} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	RemoveStale(path, time.Minute)
	for f, want := range map[string]bool{old: false, young: true, path: true} {
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(f), err == nil, want)
		}
	}
}

// encodeAll and writeAll are Encode and Write of a slice of changes.
func encodeAll(w io.Writer, h Header, changes []index.Change) error {
	return Encode(w, h, len(changes), slices.Values(changes))
}

func writeAll(path string, h Header, changes []index.Change) error {
	return Write(path, h, len(changes), slices.Values(changes))
}
