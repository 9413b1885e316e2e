package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	"sigs.k8s.io/yaml"
)

// Result is what a manifests stream holds.
type Result struct {
	// Changes adds every object clusterdns reads, in file order.
	Changes []index.Change
	// Skipped counts the objects left out, by "apiVersion Kind" for kinds
	// clusterdns does not read ("apps/v1 Deployment"), with the reason for
	// objects of kinds it reads that have nothing for DNS
	// ("v1 Pod (not running)").
	Skipped map[string]int
}

// Decode reads Kubernetes manifests and returns every Service,
// EndpointSlice, Pod and Namespace in them as an addition. See
// DecodeManifests.
func Decode(r io.Reader) ([]index.Change, error) {
	res, err := DecodeManifests(r)
	if err != nil {
		return nil, err
	}
	return res.Changes, nil
}

// DecodeManifests reads Kubernetes manifests as `kubectl get -o yaml|json`
// prints them or as they are written for `kubectl apply`: YAML documents
// separated by "---", or a stream of JSON objects, where each object may be
// a list (kind List, ServiceList, ...). Objects of other kinds are counted
// in Result.Skipped.
//
// The manifests have not been through an API server, so what the API server
// would refuse and DNS relies on is an error here: names that are not DNS
// labels, unparsable addresses, an object defined twice. Errors name the
// object and where it is: `Service "prod/web" (document 3): ...`.
func DecodeManifests(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return decodeManifests(data)
}

func decodeManifests(data []byte) (*Result, error) {
	d := &decoder{
		res:  &Result{Skipped: make(map[string]int)},
		seen: make(map[objectKey]string),
	}
	// JSON is told from YAML the way kubectl does, by a leading brace, and
	// read with encoding/json: YAML parsers reject some valid JSON (tabs)
	// and are several times slower on big lists.
	var err error
	if k8syaml.IsJSONBuffer(data) {
		err = d.jsonDocuments(data)
	} else {
		err = d.yamlDocuments(data)
	}
	if err != nil {
		return nil, err
	}
	return d.res, nil
}

type decoder struct {
	res  *Result
	seen map[objectKey]string // where each object was found, for duplicates
}

// objectKey names an object of the file.
type objectKey struct {
	kind            object.Kind
	namespace, name string
}

func (d *decoder) jsonDocuments(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	for n := 1; ; n++ {
		var doc json.RawMessage
		err := dec.Decode(&doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: invalid JSON: %w", n, err)
		}
		if err := d.document(doc, fmt.Sprintf("document %d", n)); err != nil {
			return err
		}
	}
}

func (d *decoder) yamlDocuments(data []byte) error {
	reader := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
		// Strict: the YAML spec forbids duplicate keys, and resolving one
		// silently would serve whichever value the parser kept.
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return fmt.Errorf("document %d: invalid YAML: %w", n, err)
		}
		if err := d.document(j, fmt.Sprintf("document %d", n)); err != nil {
			return err
		}
	}
}

// header is the part of an object read before its kind is known.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// document decodes one top-level document. Empty documents (only comments,
// or a trailing "---") are allowed.
func (d *decoder) document(j []byte, loc string) error {
	if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil
	}
	return d.object(j, loc, "", "", false)
}

// object decodes one object, or the items of a list. The items of a typed
// list (ServiceList as the API returns it) carry no apiVersion and kind:
// they get the list's. Lists do not nest: nothing prints them that way.
func (d *decoder) object(j []byte, loc, apiVersion, kind string, inList bool) error {
	var h header
	if err := json.Unmarshal(j, &h); err != nil {
		return fmt.Errorf("%s: not a Kubernetes object: %w", loc, err)
	}
	if h.APIVersion == "" {
		h.APIVersion = apiVersion
	}
	if h.Kind == "" {
		h.Kind = kind
	}
	if h.Kind == "" {
		return fmt.Errorf("%s: not a Kubernetes object: no kind", loc)
	}
	if h.Kind == "List" || (strings.HasSuffix(h.Kind, "List") && h.Items != nil) {
		if inList {
			return fmt.Errorf("%s: a %s inside a list is not supported", loc, h.Kind)
		}
		itemKind := strings.TrimSuffix(h.Kind, "List")
		itemVersion := h.APIVersion
		if h.Kind == "List" {
			itemKind, itemVersion = "", ""
		}
		for i, item := range h.Items {
			if err := d.object(item, fmt.Sprintf("%s, item %d", loc, i+1), itemVersion, itemKind, true); err != nil {
				return err
			}
		}
		return nil
	}
	return d.typed(&h, j, loc)
}

// typed decodes an object of a kind clusterdns reads, and counts the others.
func (d *decoder) typed(h *header, j []byte, loc string) error {
	var (
		kind       object.Kind
		target     any
		meta       *metav1.ObjectMeta
		namespaced = true
		convert    func() (any, error)
	)
	// Kinds match on apiVersion too: other groups have kinds named Service
	// (Knative serving.knative.dev/v1) that are not Kubernetes Services.
	// The convert functions return through forDNS.
	switch h.APIVersion + " " + h.Kind {
	case "v1 Service":
		var s corev1.Service
		kind, target, meta = object.KindService, &s, &s.ObjectMeta
		convert = func() (any, error) {
			if err := serviceName(s.Name); err != nil {
				return nil, err
			}
			return forDNS(object.FromService(&s))
		}
	case "discovery.k8s.io/v1 EndpointSlice":
		var es discoveryv1.EndpointSlice
		kind, target, meta = object.KindEndpointSlice, &es, &es.ObjectMeta
		convert = func() (any, error) {
			o, err := object.FromEndpointSlice(&es)
			if o != nil && err == nil {
				err = endpointHostnames(o)
			}
			return forDNS(o, err)
		}
	case "multicluster.x-k8s.io/v1alpha1 ServiceImport":
		var si mcsv1alpha1.ServiceImport
		kind, target, meta = object.KindServiceImport, &si, &si.ObjectMeta
		convert = func() (any, error) {
			if err := serviceName(si.Name); err != nil {
				return nil, err
			}
			return forDNS(object.FromServiceImport(&si))
		}
	case "v1 Pod":
		var p corev1.Pod
		kind, target, meta = object.KindPod, &p, &p.ObjectMeta
		convert = func() (any, error) {
			// As the API server refuses it; the pod index keeps names of
			// at most 64 KiB, and a pod's name is a DNS subdomain.
			if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
				return nil, fmt.Errorf("metadata.name is not a DNS subdomain: %s", errs[0])
			}
			return forDNS(object.FromPod(&p))
		}
	case "v1 Namespace":
		var ns corev1.Namespace
		kind, target, meta, namespaced = object.KindNamespace, &ns, &ns.ObjectMeta, false
		convert = func() (any, error) {
			if errs := validation.IsDNS1123Label(ns.Name); len(errs) > 0 {
				return nil, fmt.Errorf("metadata.name is not a DNS label: %s", errs[0])
			}
			return object.FromNamespace(&ns), nil
		}
	default:
		d.res.Skipped[h.APIVersion+" "+h.Kind]++
		return nil
	}

	ns := h.Metadata.Namespace
	switch {
	case !namespaced:
		ns = ""
	case ns == "":
		ns = metav1.NamespaceDefault // as kubectl apply does
	}
	// Errors name the object as the header has it, even when the whole
	// object does not decode.
	fail := func(err error) error {
		return fmt.Errorf("%s: %w", describe(kind, ns, h.Metadata.Name, loc), err)
	}
	if err := json.Unmarshal(j, target); err != nil {
		return fail(err)
	}
	meta.Namespace = ns
	if meta.Name == "" {
		return fail(errors.New("metadata.name is missing"))
	}
	if namespaced {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fail(fmt.Errorf("metadata.namespace is not a DNS label: %s", errs[0]))
		}
	}
	key := objectKey{kind: kind, namespace: ns, name: meta.Name}
	if first, dup := d.seen[key]; dup {
		return fail(fmt.Errorf("defined twice, first in %s", first))
	}
	d.seen[key] = loc

	o, err := convert()
	if err != nil {
		return fail(err)
	}
	if o == nil {
		d.res.Skipped[skipReason(h, kind)]++
		return nil
	}
	d.res.Changes = append(d.res.Changes, index.Change{Kind: kind, Namespace: ns, Name: meta.Name, Object: o})
	return nil
}

// forDNS is what a converter returned, as typed's convert returns it: an
// object with nothing for DNS (a converter's nil) is an untyped nil, never a
// nil pointer in an interface, which typed would take for an object.
func forDNS[T any](o *T, err error) (any, error) {
	if o == nil || err != nil {
		return nil, err
	}
	return o, nil
}

// endpointHostnames checks the hostnames of a slice's endpoints: the
// labels their names are answered by.
func endpointHostnames(es *object.EndpointSlice) error {
	for i, ep := range es.Endpoints {
		if ep.Hostname == "" {
			continue
		}
		if errs := validation.IsDNS1123Label(ep.Hostname); len(errs) > 0 {
			return fmt.Errorf("endpoints[%d]: hostname %q is not a DNS label: %s", i, ep.Hostname, errs[0])
		}
	}
	return nil
}

// serviceName checks the name of a Service or ServiceImport: the label
// it is answered by.
func serviceName(name string) error {
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
		return fmt.Errorf("metadata.name is not a DNS label: %s", errs[0])
	}
	return nil
}

// describe names an object in errors: `Service "prod/web" (document 3)`.
func describe(kind object.Kind, namespace, name, loc string) string {
	switch {
	case name == "":
		return fmt.Sprintf("%s (%s)", kind, loc)
	case namespace == "":
		return fmt.Sprintf("%s %q (%s)", kind, name, loc)
	}
	return fmt.Sprintf("%s %q (%s)", kind, namespace+"/"+name, loc)
}

// skipReason says why an object of a kind clusterdns reads was left out.
func skipReason(h *header, kind object.Kind) string {
	switch kind {
	case object.KindEndpointSlice:
		return h.APIVersion + " " + h.Kind + " (addressType FQDN)"
	case object.KindPod:
		return h.APIVersion + " " + h.Kind + " (not running)"
	}
	return h.APIVersion + " " + h.Kind
}
