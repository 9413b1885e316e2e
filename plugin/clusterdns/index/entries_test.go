package index

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// TestEntryTableModel checks the entry table against a map through random
// sets and deletes, published at random: every published version keeps
// answering as it did when published, through the growth of its shards
// and the backward shifts of deletion.
func TestEntryTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	entry := func(name, ns string) *Service {
		return &Service{Service: &object.Service{Meta: object.Meta{Name: name, Namespace: ns}}}
	}
	var keys [][2]string
	for i := range 6000 {
		keys = append(keys, [2]string{fmt.Sprintf("svc-%d", i), fmt.Sprintf("ns-%d", i%7)})
	}
	w := newEntryWriter()
	model := map[string]*Service{}
	type published struct {
		table *entryTable
		model map[string]*Service
	}
	var versions []published
	check := func(p published) {
		t.Helper()
		if n := p.table.len(); n != len(p.model) {
			t.Fatalf("%d entries, want %d", n, len(p.model))
		}
		for _, k := range keys {
			key := k[0] + "." + k[1]
			if got := p.table.lookup([]byte(key)); got != p.model[key] {
				t.Fatalf("%s: entry %p, want %p", key, got, p.model[key])
			}
		}
	}
	for step := range 30000 {
		k := keys[rng.IntN(len(keys))]
		key := k[0] + "." + k[1]
		if _, ok := model[key]; ok && rng.IntN(3) == 0 {
			w.delete(key)
			delete(model, key)
		} else {
			e := entry(k[0], k[1])
			w.set(key, e)
			model[key] = e
		}
		if got, _ := w.get(key); got != model[key] {
			t.Fatalf("step %d: the writer's %s is %p, want %p", step, key, got, model[key])
		}
		if rng.IntN(500) == 0 {
			versions = append(versions, published{w.publish(), maps.Clone(model)})
			check(versions[len(versions)-1])
		}
	}
	for _, p := range versions {
		check(p)
	}
}

// TestEntryLookupAllocatesNothing guards the query path: finding a
// service, or not finding one, allocates nothing.
func TestEntryLookupAllocatesNothing(t *testing.T) {
	w := newEntryWriter()
	w.set("web.prod", &Service{Service: &object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}}})
	table := w.publish()
	hit, miss := []byte("web.prod"), []byte("web.test")
	allocs := testing.AllocsPerRun(100, func() {
		if table.lookup(hit) == nil || table.lookup(miss) != nil {
			t.Fatal("lookup failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("a lookup allocated %v times", allocs)
	}
}

// TestEntryHashAgrees checks that the three ways to the tables' hash
// agree: a query's key in bytes, the writer's string key, and an entry's
// name and namespace hashed in parts (grown and delete rehash entries so).
func TestEntryHashAgrees(t *testing.T) {
	for _, k := range [][2]string{{"web", "prod"}, {"a", "b"}, {"", ""}, {strings.Repeat("n", 63), strings.Repeat("s", 63)}} {
		key := k[0] + "." + k[1]
		e := &Service{Service: &object.Service{Meta: object.Meta{Name: k[0], Namespace: k[1]}}}
		if h := keyHash(key); h != maphash.Bytes(entrySeed, []byte(key)) || h != entryHash(e) {
			t.Errorf("%s: key %x, bytes %x, entry %x", key, h, maphash.Bytes(entrySeed, []byte(key)), entryHash(e))
		}
	}
}

// TestSameEntries checks the deep comparison a reload's publish makes
// (compareContents): equal tables built apart are the same; a changed
// entry or a missing key is not.
func TestSameEntries(t *testing.T) {
	build := func(ttl uint32, keys ...string) *entryTable {
		w := newEntryWriter()
		for _, k := range keys {
			name, ns, _ := strings.Cut(k, ".")
			w.set(k, &Service{Service: &object.Service{Meta: object.Meta{Name: name, Namespace: ns}, TTL: ttl}})
		}
		return w.publish()
	}
	base := build(5, "web.prod", "db.prod", "api.dev")
	for _, c := range []struct {
		name  string
		other *entryTable
		want  bool
	}{
		{"built apart", build(5, "api.dev", "web.prod", "db.prod"), true},
		{"an entry changed", build(6, "web.prod", "db.prod", "api.dev"), false},
		{"a key missing", build(5, "web.prod", "db.prod"), false},
		{"a key replaced", build(5, "web.prod", "db.prod", "api.test"), false},
	} {
		if got := sameEntries(base, c.other); got != c.want {
			t.Errorf("%s: sameEntries = %t, want %t", c.name, got, c.want)
		}
	}
}

// TestSameDNSFields checks that each field DNS reads of a Service tells two
// Services apart, and that what it does not read (metadata, an ignored
// TTL annotation) does not.
func TestSameDNSFields(t *testing.T) {
	base := func() *object.Service {
		s := &object.Service{Meta: object.Meta{Name: "web", Namespace: "prod"}, Type: object.ClusterIP, TTL: 5, HasTTL: true,
			Ports: []object.Port{{Name: "http", Protocol: "tcp", Port: 80}}}
		return s.SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.0.0.1")})
	}
	for _, c := range []struct {
		name   string
		change func(*object.Service) *object.Service
		want   bool
	}{
		{"the same", func(s *object.Service) *object.Service { return s }, true},
		{"another resource version", func(s *object.Service) *object.Service { s.ResourceVersion = "9"; return s }, true},
		{"a bad TTL annotation", func(s *object.Service) *object.Service {
			s.Extra = &object.ServiceExtra{BadTTL: "x"}
			return s
		}, true},
		{"type", func(s *object.Service) *object.Service { s.Type = object.Headless; return s }, false},
		{"TTL", func(s *object.Service) *object.Service { s.TTL = 6; return s }, false},
		{"TTL annotation", func(s *object.Service) *object.Service { s.HasTTL = false; return s }, false},
		{"port", func(s *object.Service) *object.Service {
			s.Ports = []object.Port{{Name: "http", Protocol: "tcp", Port: 81}}
			return s
		}, false},
		{"cluster IP", func(s *object.Service) *object.Service {
			return s.SetClusterIPs([]netip.Addr{netip.MustParseAddr("10.0.0.2")})
		}, false},
		{"external name", func(s *object.Service) *object.Service {
			s.Extra = &object.ServiceExtra{ExternalName: "example.com."}
			return s
		}, false},
		{"external IP", func(s *object.Service) *object.Service {
			s.Extra = &object.ServiceExtra{ExternalIPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
			return s
		}, false},
		{"external hostname", func(s *object.Service) *object.Service {
			s.Extra = &object.ServiceExtra{ExternalHostnames: []string{"lb.example.com."}}
			return s
		}, false},
	} {
		if got := sameDNSFields(base(), c.change(base())); got != c.want {
			t.Errorf("%s: sameDNSFields = %t, want %t", c.name, got, c.want)
		}
	}
	// Compared where they are: a publish compares every changed Service.
	a, b := base(), base()
	if n := testing.AllocsPerRun(100, func() { sameDNSFields(a, b) }); n != 0 {
		t.Errorf("sameDNSFields allocates %v times", n)
	}
}

// TestEntryHashSeededPerProcess guards the seed: Service names are chosen
// by whoever may create a Service, and with a hash the same in every
// process, names that share a probe run could be found offline and pile up
// in one (entries.go). Two runs of this test binary hash the same key
// differently (equal by chance once in 2^64).
func TestEntryHashSeededPerProcess(t *testing.T) {
	const env = "CLUSTERDNS_ENTRY_HASH_CHILD"
	if os.Getenv(env) != "" {
		fmt.Printf("entry hash %x\n", keyHash("web.prod"))
		return
	}
	hashOf := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEntryHashSeededPerProcess$")
		cmd.Env = append(os.Environ(), env+"=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v", err)
		}
		for line := range strings.Lines(string(out)) {
			if h, ok := strings.CutPrefix(strings.TrimSpace(line), "entry hash "); ok {
				return h
			}
		}
		t.Fatalf("child printed no hash: %q", out)
		return ""
	}
	if a, b := hashOf(), hashOf(); a == b {
		t.Errorf("two processes hash web.prod alike (%s): the entry tables' hash is not seeded per process", a)
	}
}
