package index

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Namespace-scoped visibility (the visibility option).
//
// A client pod in namespace A sees the names of namespace B only when B is
// A, or B exports itself to A: by the Corefile's defaults or by B's
// object.VisibleToAnnotation, a label selector matched against A's labels.
// Clients that are no pod see every namespace or only those exported to
// every client ("*"), as the Corefile says.
//
// Who sees what is decided when namespaces change, never per query: the
// writer matches every exporting namespace's selectors against every
// namespace's labels and publishes, per client namespace, the set of
// namespaces exported to it, as bits of namespace numbers. A service entry
// carries its namespace's number, so a query for a name of another
// namespace costs one map lookup (the client's set) and a bit test, without
// allocating or locking; a name of the client's own namespace costs none.
// Namespaces change rarely; the cost of a change is (exporting namespaces)
// x (namespaces) selector matches.

// Visibility configures the visibility option. A nil *Visibility in
// Options turns it off: every name is visible to every client.
type Visibility struct {
	// Exports are the Corefile's defaults, added to what the namespaces'
	// annotations export.
	Exports []Export
	// NonPodAll lets clients that are no known pod see every namespace;
	// when false they see only the namespaces exported to every client.
	NonPodAll bool
	// BadSelector, when set, is called for a namespace whose annotation
	// does not parse: the namespace exports nothing by it.
	BadSelector func(namespace, value string, err error)
}

// Export makes Namespaces visible to the client namespaces To selects, or
// to every client when All.
type Export struct {
	Namespaces []string
	All        bool
	To         labels.Selector
}

// ParseVisibleTo parses a visible-to value: "*" for every client, else a
// label selector of client namespaces. A selector without requirements
// (blank) is an error, not a selector of everything: a namespace is
// exported to all on purpose, never by accident.
func ParseVisibleTo(value string) (all bool, sel labels.Selector, err error) {
	if strings.TrimSpace(value) == "*" {
		return true, nil, nil
	}
	sel, err = labels.Parse(value)
	if err != nil {
		return false, nil, err
	}
	if sel.Empty() {
		return false, nil, errEmptySelector
	}
	return false, sel, nil
}

type visibilityError string

func (e visibilityError) Error() string { return string(e) }

const errEmptySelector = visibilityError(`empty: want a label selector or "*"`)

// ClientKind says how a client is known.
type clientKind uint8

const (
	// clientPublic sees only the namespaces exported to every client: the
	// zero Client, which a zone transfer uses (its secondaries serve
	// whoever asks them).
	clientPublic clientKind = iota
	// clientNonPod is an address no pod holds (a node, the API server's
	// network), or one held by pods of several namespaces.
	clientNonPod
	// clientPod is a pod's address.
	clientPod
)

// Client is who asks a question, as visibility sees it. The zero Client
// sees only what is exported to every client.
type Client struct {
	kind      clientKind
	namespace string
}

// visibility is what a view publishes: per client namespace, the
// namespaces exported to it, as a bitset of namespace numbers, so that a
// query asks one map for its client and tests a bit for its target.
type visibility struct {
	nonPodAll bool
	// numbers are the namespaces' numbers (namespaceNumbers), for targets
	// known by name (reverse names, "<ns>.svc"); a service carries its own
	// (Service.namespaceNumber).
	numbers map[string]uint32
	// public are the namespaces exported to every client; sights hold, per
	// client namespace that a selector exports something to, those and
	// public's. A namespace without a sight sees public.
	public namespaceSet
	sights map[string]namespaceSet
}

// namespaceSet is a set of namespace numbers.
type namespaceSet []uint64

func (s namespaceSet) has(n uint32) bool {
	i := int(n / 64)
	return i < len(s) && s[i]&(1<<(n%64)) != 0
}

func (s *namespaceSet) add(n uint32) {
	i := int(n / 64)
	if i >= len(*s) {
		*s = append(*s, make(namespaceSet, i+1-len(*s))...)
	}
	(*s)[i] |= 1 << (n % 64)
}

func (s namespaceSet) union(o namespaceSet) namespaceSet {
	u := slices.Clone(s)
	for i, w := range o {
		if i < len(u) {
			u[i] |= w
		} else {
			u = append(u, w)
		}
	}
	return u
}

// namespaceNumbers numbers the namespaces that exist (a Namespace object or
// a service), densely and stably while they exist, so that a namespaceSet
// stays small and a service entry's number stays right. A number is freed
// when its namespace goes, and given again to the next new one: both
// happen at a namespace change, which computes visibility afresh.
type namespaceNumbers struct {
	byName map[string]uint32
	free   []uint32
}

// number returns the number of namespace name, giving it one if it has
// none.
func (t *namespaceNumbers) number(name string) uint32 {
	if n, ok := t.byName[name]; ok {
		return n
	}
	var n uint32
	if k := len(t.free); k > 0 {
		n, t.free = t.free[k-1], t.free[:k-1]
	} else {
		n = uint32(len(t.byName))
	}
	t.byName[name] = n
	return n
}

// keep frees the numbers of the namespaces not in exist.
func (t *namespaceNumbers) keep(exist map[string]labels.Set) {
	for name, n := range t.byName {
		if _, ok := exist[name]; !ok {
			delete(t.byName, name)
			t.free = append(t.free, n)
		}
	}
}

// ClientAt returns the client asking from addr: the pod holding it (through
// PodAt), or a non-pod client when no pod does, or when pods of more than
// one namespace claim it (host-network pods share their node's address; a
// reused address is claimed by the old pod until its deletion is seen).
// Without the visibility option every client sees everything, and the
// result does not matter.
func (s *View) ClientAt(addr netip.Addr) Client {
	if s.vis == nil {
		return Client{kind: clientPublic}
	}
	refs, _ := lookupAddr(s.pods, addr)
	if len(refs) == 0 {
		return Client{kind: clientNonPod}
	}
	for _, r := range refs[1:] {
		if r.namespace != refs[0].namespace {
			return Client{kind: clientNonPod}
		}
	}
	return Client{kind: clientPod, namespace: refs[0].namespace}
}

// PodClient is a pod of namespace asking, as explain names a client by its
// namespace when it has no address.
func PodClient(namespace string) Client { return Client{kind: clientPod, namespace: namespace} }

// Visible tells whether client c may see the names of namespace ns (lower
// case).
func (s *View) Visible(c Client, ns string) bool {
	if s.vis == nil || c.kind == clientPod && c.namespace == ns {
		return true
	}
	n, ok := s.vis.numbers[ns]
	return ok && s.sees(c, n)
}

// VisibleBytes is Visible for a namespace that is a slice of a query name;
// it does not allocate.
func (s *View) VisibleBytes(c Client, ns []byte) bool {
	if s.vis == nil || c.kind == clientPod && c.namespace == string(ns) {
		return true
	}
	n, ok := s.vis.numbers[string(ns)]
	return ok && s.sees(c, n)
}

// VisibleService is Visible for the namespace of svc, an entry of this
// view: the entry carries its namespace's number, so no name is looked up
// for it.
func (s *View) VisibleService(c Client, svc *Service) bool {
	if s.vis == nil || c.kind == clientPod && c.namespace == svc.Namespace {
		return true
	}
	return s.sees(c, svc.namespaceNumber)
}

// sees tells whether c, of another namespace, sees namespace number n.
func (s *View) sees(c Client, n uint32) bool {
	switch c.kind {
	case clientPod:
		if sight, ok := s.vis.sights[c.namespace]; ok {
			return sight.has(n)
		}
	case clientNonPod:
		if s.vis.nonPodAll {
			return true
		}
	}
	return s.vis.public.has(n)
}

// metadataName is the label the API server sets on every namespace, to its
// name. A selector may name client namespaces by it; a namespace read from
// a manifests file gets it too, as from the API.
const metadataName = "kubernetes.io/metadata.name"

// updateVisibility recomputes who sees what after namespaces changed, and
// keeps the published result when nothing changed. Its cost is that of a
// namespace change: (exporting namespaces) x (namespaces) selector matches.
func (ix *Index) updateVisibility() {
	opts := ix.opts.Visibility
	// Every namespace a client pod can be in: those with a Namespace
	// object, and those the index knows from their services.
	clients := make(map[string]labels.Set, len(ix.namespaces))
	for name := range ix.nsServices {
		clients[name] = labels.Set{metadataName: name}
	}
	for name, ns := range ix.namespaces {
		set := labels.Set{metadataName: name}
		maps.Copy(set, ns.Labels)
		clients[name] = set
	}
	ix.nsNumbers.keep(clients)
	for name := range clients {
		ix.nsNumbers.number(name)
	}
	next := &visibility{nonPodAll: opts.NonPodAll, numbers: maps.Clone(ix.nsNumbers.byName), sights: make(map[string]namespaceSet)}
	export := func(target string, all bool, sel labels.Selector) {
		n, exists := next.numbers[target]
		switch {
		case !exists:
		case all:
			next.public.add(n)
		case sel != nil:
			for name, set := range clients {
				if name != target && sel.Matches(set) {
					sight := next.sights[name]
					sight.add(n)
					next.sights[name] = sight
				}
			}
		}
	}
	for _, x := range opts.Exports {
		for _, target := range x.Namespaces {
			export(target, x.All, x.To)
		}
	}
	reported := ix.badVisibleTo
	ix.badVisibleTo = make(map[string]string)
	for _, name := range slices.Sorted(maps.Keys(ix.namespaces)) {
		value := ix.namespaces[name].VisibleTo
		if value == "" {
			continue
		}
		all, sel, err := ParseVisibleTo(value)
		if err != nil {
			// Reported once per value, not at every namespace change.
			if reported[name] != value && opts.BadSelector != nil {
				opts.BadSelector(name, value, err)
			}
			ix.badVisibleTo[name] = value
			continue
		}
		export(name, all, sel)
	}
	for name, sight := range next.sights {
		next.sights[name] = sight.union(next.public)
	}
	if ix.vis != nil && reflect.DeepEqual(ix.vis, next) {
		return
	}
	ix.vis = next
}
