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
// namespace's labels and publishes, per exporting namespace, the set of
// client namespaces it is visible to. A query then costs a map lookup or
// two, without allocating or locking. Namespaces change rarely; the cost of
// a change is (exporting namespaces) x (namespaces) selector matches.

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

// visibility is what a view publishes: per exporting namespace, who sees it.
type visibility struct {
	nonPodAll bool
	exports   map[string]exported
}

type exported struct {
	all bool
	to  map[string]struct{} // client namespaces
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
	if _, shared := lookupAddr(s.sharedIPs, addr); shared {
		return Client{kind: clientNonPod}
	}
	ns, _, ok := s.PodAt(addr)
	if !ok {
		return Client{kind: clientNonPod}
	}
	return Client{kind: clientPod, namespace: ns}
}

// PodClient is a pod of namespace asking, as explain names a client by its
// namespace when it has no address.
func PodClient(namespace string) Client { return Client{kind: clientPod, namespace: namespace} }

// Visible tells whether client c may see the names of namespace ns (lower
// case).
func (s *View) Visible(c Client, ns string) bool {
	if s.vis == nil || c.kind == clientPod && c.namespace == ns || c.kind == clientNonPod && s.vis.nonPodAll {
		return true
	}
	e, ok := s.vis.exports[ns]
	return ok && e.sees(c)
}

// VisibleBytes is Visible for a namespace that is a slice of a query name;
// it does not allocate.
func (s *View) VisibleBytes(c Client, ns []byte) bool {
	if s.vis == nil || c.kind == clientPod && c.namespace == string(ns) || c.kind == clientNonPod && s.vis.nonPodAll {
		return true
	}
	e, ok := s.vis.exports[string(ns)]
	return ok && e.sees(c)
}

func (e exported) sees(c Client) bool {
	if e.all {
		return true
	}
	if c.kind != clientPod {
		return false
	}
	_, ok := e.to[c.namespace]
	return ok
}

// metadataName is the label the API server sets on every namespace, to its
// name. A selector may name client namespaces by it; a namespace read from
// a manifests file gets it too, as from the API.
const metadataName = "kubernetes.io/metadata.name"

// updateVisibility recomputes who sees what after namespaces changed, and
// keeps the published result when nothing changed.
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
	next := &visibility{nonPodAll: opts.NonPodAll, exports: make(map[string]exported)}
	export := func(target string, all bool, sel labels.Selector) {
		e := next.exports[target]
		if all {
			e.all, e.to = true, nil
		}
		if !e.all && sel != nil {
			for name, set := range clients {
				if name != target && sel.Matches(set) {
					if e.to == nil {
						e.to = make(map[string]struct{})
					}
					e.to[name] = struct{}{}
				}
			}
		}
		next.exports[target] = e
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
	if ix.vis != nil && reflect.DeepEqual(ix.vis, next) {
		return
	}
	ix.vis = next
}

// updateSharedIP notes whether addr is claimed by pods of more than one
// namespace: ClientAt takes such a client for no pod. refs are the pods
// claiming addr now.
func (ix *Index) updateSharedIP(addr netip.Addr, refs []podRef) {
	shared := false
	for _, r := range refs[min(1, len(refs)):] {
		if r.namespace != refs[0].namespace {
			shared = true
			break
		}
	}
	if _, was := ix.sharedIPs.get(addr); shared && !was {
		ix.sharedIPs.set(addr, struct{}{})
	} else if !shared {
		ix.sharedIPs.delete(addr)
	}
}
