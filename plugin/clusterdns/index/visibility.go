package index

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

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
// writer matches the exporting namespaces' selectors against the
// namespaces' labels and publishes, per client namespace, the set of
// namespaces exported to it, as bits of namespace numbers. A service entry
// carries its namespace's number, so a query for a name of another
// namespace costs one map lookup (the client's set) and a bit test, without
// allocating or locking; a name of the client's own namespace costs none.
// A change costs what it changes (updateVisibility): a namespace's labels,
// the exporting namespaces' selectors matched against it; its exports,
// its selectors matched against every namespace.

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
// namespaces exported to it, as a set of namespace numbers, so that a
// query asks one map for its client and tests a bit for its target.
type visibility struct {
	nonPodAll bool
	// numbers are the namespaces' numbers (namespaceNumbers), for targets
	// known by name (reverse names, "<ns>.svc"); a service carries its own
	// (Service.namespaceNumber).
	numbers map[string]uint32
	// public are the namespaces exported to every client; sights hold, per
	// client namespace that a selector exports something to, those it
	// exports to it.
	public namespaceSet
	sights map[string]namespaceSet
}

// namespaceSet is a set of namespace numbers.
type namespaceSet []uint64

func (s namespaceSet) has(n uint32) bool {
	i := int(n / 64)
	return i < len(s) && s[i]&(1<<(n%64)) != 0
}

// put puts n in s, or takes it out, in place, growing s as needed: s is
// the writer's own copy of a published set (updateVisibility), as
// published sets are never written. It ends in a word that is not zero,
// as a set computed afresh does, so that an empty set has length 0.
func (s namespaceSet) put(n uint32, in bool) namespaceSet {
	i := int(n / 64)
	if i >= len(s) {
		if !in {
			return s
		}
		s = append(s, make(namespaceSet, i+1-len(s))...)
	}
	if in {
		s[i] |= 1 << (n % 64)
		return s
	}
	s[i] &^= 1 << (n % 64)
	for len(s) > 0 && s[len(s)-1] == 0 {
		s = s[:len(s)-1]
	}
	return s
}

// namespaceNumbers numbers the namespaces that exist (a Namespace object or
// a service), densely and stably while they exist, so that a namespaceSet
// stays small and a service entry's number stays right. A number is freed
// when its namespace goes, and given again to a new one once every set
// has lost it (updateVisibility).
type namespaceNumbers struct {
	byName map[string]uint32
	free   []uint32
	// shared is set while byName is the published view's map too.
	shared bool
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
	t.own()
	t.byName[name] = n
	return n
}

// release frees the number of namespace name.
func (t *namespaceNumbers) release(name string) {
	if n, ok := t.byName[name]; ok {
		t.own()
		delete(t.byName, name)
		t.free = append(t.free, n)
	}
}

// own copies byName before a write while a view shares it.
func (t *namespaceNumbers) own() {
	if t.shared {
		t.byName, t.shared = maps.Clone(t.byName), false
	}
}

// visibilityWriter is what the writer keeps to compute visibility
// incrementally.
type visibilityWriter struct {
	// changed are the namespaces that came, went or changed since the last
	// computation; all is set when everything is to be computed (after a
	// reset).
	changed map[string]struct{}
	all     bool
	numbers namespaceNumbers
	// clients are the label sets of the namespaces a client pod can be in:
	// those with a Namespace object, and those the index knows from their
	// services; exports are what each namespace exports by its annotation
	// and the Corefile's defaults.
	clients map[string]labels.Set
	exports map[string]exportRule
}

// exportRule is what a namespace exports: to every client, or to the
// client namespaces its selectors match. annotation is the visible-to
// value it was read from.
type exportRule struct {
	annotation string
	all        bool
	selectors  []labels.Selector
}

func newVisibilityWriter(opts *Visibility) visibilityWriter {
	return visibilityWriter{
		all:     opts != nil,
		changed: make(map[string]struct{}),
		numbers: namespaceNumbers{byName: make(map[string]uint32)},
		clients: make(map[string]labels.Set),
		exports: make(map[string]exportRule),
	}
}

// pending tells whether visibility is to be computed at the next publish.
func (w *visibilityWriter) pending() bool { return w.all || len(w.changed) > 0 }

// namespaceChanged notes that namespace name changed (came, went, or its
// object changed) when changed is set.
func (ix *Index) namespaceChanged(name string, changed bool) {
	if changed && ix.opts.Visibility != nil {
		ix.visWriter.changed[name] = struct{}{}
	}
}

// ClientAt returns the client asking from addr: the pod holding it, or a
// non-pod client when no pod does, or when pods of more than
// one namespace claim it (host-network pods share their node's address; a
// reused address is claimed by the old pod until its deletion is seen).
// Without the visibility option every client sees everything, and the
// result does not matter.
func (s *View) ClientAt(addr netip.Addr) Client {
	if s.vis == nil {
		return Client{kind: clientPublic}
	}
	pods := s.pods.at(addr)
	if len(pods) == 0 {
		return Client{kind: clientNonPod}
	}
	ns := s.pods.namespace(pods[0])
	for _, p := range pods[1:] {
		if s.pods.namespace(p) != ns {
			return Client{kind: clientNonPod}
		}
	}
	return Client{kind: clientPod, namespace: ns}
}

// PodClient is a pod of namespace asking, as explain names a client by its
// namespace when it has no address.
func PodClient(namespace string) Client { return Client{kind: clientPod, namespace: namespace} }

// Visible tells whether client c may see the names of namespace ns (lower
// case) in view s: a name, or a slice of a query name, which it neither
// copies nor allocates for.
func Visible[T string | []byte](s *View, c Client, ns T) bool {
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
		if s.vis.sights[c.namespace].has(n) {
			return true
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

// updateVisibility brings who sees what up to date with the namespaces
// that changed since it last ran, at a cost that follows the change: a
// namespace whose labels changed is matched against the exporting
// namespaces' selectors (its sight); one whose exports changed, or that
// came or went, has its selectors matched against every namespace (its
// bit in every sight). The map and the sets the published view holds are
// copied before they are written, each once per run. The result replaces
// the published one only when a bit flipped, a set went or a namespace's
// number came or went: otherwise the view, and its serial, stay.
func (ix *Index) updateVisibility() {
	w := &ix.visWriter
	changed := w.changed
	if w.all {
		changed = make(map[string]struct{})
		for name := range ix.namespaces {
			changed[name] = struct{}{}
		}
		for name := range ix.nsServices {
			changed[name] = struct{}{}
		}
	}
	w.all, w.changed = false, make(map[string]struct{})
	prev := ix.vis
	if prev == nil {
		prev = &visibility{nonPodAll: ix.opts.Visibility.NonPodAll}
	}
	next := *prev
	flipped := ix.vis == nil // the first computation publishes, whatever it holds
	// Whether this run copied the map and public from prev, and may write
	// them in place from then on; a client's set is the run's own when it
	// is not prev's (see setBit).
	var sightsOwned, publicOwned bool
	ownSights := func() {
		if !sightsOwned {
			next.sights, sightsOwned = maps.Clone(next.sights), true
			if next.sights == nil {
				next.sights = make(map[string]namespaceSet)
			}
		}
	}
	setBit := func(client string, n uint32, in bool) {
		set := next.sights[client]
		if set.has(n) == in {
			return
		}
		flipped = true
		ownSights()
		if published := prev.sights[client]; len(set) == 0 || len(published) > 0 && &set[0] == &published[0] {
			set = slices.Clone(set)
		}
		set = set.put(n, in)
		if len(set) == 0 {
			// Kept only while it holds something, so that a view
			// computed afresh equals this one (View.sameContents).
			delete(next.sights, client)
			return
		}
		next.sights[client] = set
	}
	setPublic := func(n uint32, in bool) {
		if next.public.has(n) == in {
			return
		}
		flipped = true
		if !publicOwned {
			next.public, publicOwned = slices.Clone(next.public), true
		}
		next.public = next.public.put(n, in)
	}

	// The changed namespaces' labels and exports; the numbers of those
	// gone are taken out of every set before any is given again.
	var exporters []string // whose bit in other sights is to be redone
	for _, name := range slices.Sorted(maps.Keys(changed)) {
		ns := ix.namespaces[name]
		exists := ns != nil || ix.nsServices[name] > 0
		var rule exportRule
		if exists {
			set := labels.Set{metadataName: name}
			if ns != nil {
				maps.Copy(set, ns.Labels)
			}
			w.clients[name] = set
			rule = ix.exportRuleOf(name, ns)
		}
		old, hadRule := w.exports[name]
		if hadRule && exists && old.annotation == rule.annotation {
			continue // a change of its labels only: its sight is redone below
		}
		delete(w.exports, name)
		if rule.all || len(rule.selectors) > 0 {
			// Its bit in every sight is redone below: set where it
			// exports to, cleared elsewhere, flipping only where that
			// changed.
			w.exports[name] = rule
			exporters = append(exporters, name)
		} else if n, numbered := w.numbers.byName[name]; numbered && hadRule {
			// It exports no more: its bit is cleared everywhere.
			for client := range next.sights {
				setBit(client, n, false)
			}
			setPublic(n, false)
		}
		if !exists {
			delete(w.clients, name)
			if _, ok := next.sights[name]; ok {
				flipped = true
				ownSights()
				delete(next.sights, name)
			}
			w.numbers.release(name)
		}
	}
	// A namespace exported to every client is in public and in no sight.
	for _, name := range exporters {
		n := w.numbers.number(name)
		rule := w.exports[name]
		setPublic(n, rule.all)
		for client, set := range w.clients {
			if _, redone := changed[client]; !redone && client != name {
				setBit(client, n, !rule.all && rule.matches(set))
			}
		}
	}
	// The changed namespaces' own sights, from every exporting namespace.
	for name := range changed {
		set, exists := w.clients[name]
		if !exists {
			continue
		}
		w.numbers.number(name)
		for exporter, rule := range w.exports {
			if exporter != name {
				setBit(name, w.numbers.number(exporter), !rule.all && rule.matches(set))
			}
		}
	}
	if !w.numbers.shared {
		// Numbers were given or freed (namespaceNumbers.own) since the
		// published map was: services of a new namespace carry its number.
		next.numbers, w.numbers.shared = w.numbers.byName, true
		flipped = true
	}
	if flipped {
		ix.vis = &next
	}
}

// exportRuleOf reads what namespace name exports: the Corefile's defaults
// for it and its annotation. A malformed annotation exports nothing and is
// reported once per value.
func (ix *Index) exportRuleOf(name string, ns *object.Namespace) exportRule {
	opts := ix.opts.Visibility
	var rule exportRule
	for _, x := range opts.Exports {
		if slices.Contains(x.Namespaces, name) {
			rule.all = rule.all || x.All
			if x.To != nil {
				rule.selectors = append(rule.selectors, x.To)
			}
		}
	}
	if ns == nil || ns.VisibleTo == "" {
		delete(ix.badVisibleTo, name)
		return rule
	}
	rule.annotation = ns.VisibleTo
	all, sel, err := ParseVisibleTo(ns.VisibleTo)
	if err != nil {
		if ix.badVisibleTo[name] != ns.VisibleTo && opts.BadSelector != nil {
			opts.BadSelector(name, ns.VisibleTo, err)
		}
		ix.badVisibleTo[name] = ns.VisibleTo
		return rule
	}
	delete(ix.badVisibleTo, name)
	rule.all = rule.all || all
	if sel != nil {
		rule.selectors = append(rule.selectors, sel)
	}
	return rule
}

// matches tells whether the rule exports to a client namespace with the
// label set.
func (r exportRule) matches(set labels.Set) bool {
	for _, sel := range r.selectors {
		if sel.Matches(set) {
			return true
		}
	}
	return false
}
