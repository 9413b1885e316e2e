package file_test

import (
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
)

const kubectlList = `apiVersion: v1
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    creationTimestamp: "2026-03-01T09:10:31Z"
    labels:
      kubernetes.io/metadata.name: prod
    name: prod
    resourceVersion: "1237"
    uid: d23f0824-128b-4f33-8c5c-7fd0a6a3a450
  spec:
    finalizers:
    - kubernetes
  status:
    phase: Active
- apiVersion: v1
  kind: Service
  metadata:
    creationTimestamp: "2026-03-01T09:12:44Z"
    name: web
    namespace: prod
    resourceVersion: "1348"
    uid: 6b0d549b-6f03-475a-9600-a35a099950d8
  spec:
    clusterIP: 10.96.100.10
    clusterIPs:
    - 10.96.100.10
    ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: 8080
    selector:
      app: web
    type: ClusterIP
  status:
    loadBalancer: {}
- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
  - addresses:
    - 10.244.1.7
    conditions:
      ready: true
    nodeName: node-1
    targetRef:
      kind: Pod
      name: web-6d8f7b9c5-4xk2p
      namespace: prod
  kind: EndpointSlice
  metadata:
    labels:
      kubernetes.io/service-name: web
    name: web-hq7vz
    namespace: prod
  ports:
  - name: http
    port: 8080
    protocol: TCP
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: prod
  spec:
    replicas: 3
- apiVersion: v1
  kind: Pod
  metadata:
    name: web-6d8f7b9c5-4xk2p
    namespace: prod
  spec:
    containers:
    - image: nginx:1.27
      name: web
  status:
    phase: Running
    podIP: 10.244.1.7
    podIPs:
    - ip: 10.244.1.7
kind: List
metadata:
  resourceVersion: ""
`

const multiDoc = `# written by hand, for kubectl apply
---
apiVersion: v1
kind: Service
metadata:
  name: web   # no namespace: default
spec:
  clusterIP: 10.96.0.10
---
---
# an empty document above, a comment-only one here
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: b
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
---
apiVersion: v1
kind: Service
metadata:
  name: search
  namespace: prod
spec:
  type: ExternalName
  externalName: search.example.com
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext
  namespace: prod
addressType: FQDN
endpoints:
- addresses: [db.example.com]
---
apiVersion: v1
kind: Pod
metadata:
  name: migrate-x
  namespace: kube-system
status:
  phase: Succeeded
  podIP: 10.244.0.9
`

const jsonList = `{
	"apiVersion": "v1",
	"kind": "List",
	"items": [
		{
			"apiVersion": "v1",
			"kind": "Service",
			"metadata": {"name": "api", "namespace": "prod"},
			"spec": {"clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20", "fd00:10:96::20"]}
		},
		{
			"apiVersion": "discovery.k8s.io/v1",
			"kind": "EndpointSlice",
			"metadata": {"name": "api-x7t2m", "namespace": "prod", "labels": {"kubernetes.io/service-name": "api"}},
			"addressType": "IPv6",
			"endpoints": [{"addresses": ["fd00:10:244:1::30"]}]
		}
	]
}`

// What the API server returns for GET /api/v1/services: a typed list whose
// items carry no apiVersion and kind.
const serviceList = `{"apiVersion":"v1","kind":"ServiceList","metadata":{"resourceVersion":"1999"},"items":[
{"metadata":{"name":"kubernetes","namespace":"default"},"spec":{"clusterIP":"10.96.0.1","ports":[{"name":"https","port":443,"protocol":"TCP"}]}}
]}
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}
`

func TestDecode(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantObjects []string // "Kind namespace/name"
		wantSkipped map[string]int
	}{
		{
			name:        "kubectl list",
			in:          kubectlList,
			wantObjects: []string{"Namespace /prod", "Service prod/web", "EndpointSlice prod/web-hq7vz", "Pod prod/web-6d8f7b9c5-4xk2p"},
			wantSkipped: map[string]int{"apps/v1 Deployment": 1},
		},
		{
			name:        "multi-document YAML",
			in:          multiDoc,
			wantObjects: []string{"Service default/web", "Service prod/search"},
			wantSkipped: map[string]int{
				"v1 ConfigMap":                   1,
				"serving.knative.dev/v1 Service": 1,
				"discovery.k8s.io/v1 EndpointSlice (addressType FQDN)": 1,
				"v1 Pod (not running)":                                 1,
			},
		},
		{
			name:        "JSON list",
			in:          jsonList,
			wantObjects: []string{"Service prod/api", "EndpointSlice prod/api-x7t2m"},
		},
		{
			name:        "JSON single object",
			in:          `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "staging"}}`,
			wantObjects: []string{"Namespace /staging"},
		},
		{
			name:        "JSON stream with a typed list",
			in:          serviceList,
			wantObjects: []string{"Service default/kubernetes", "Namespace /default"},
		},
		{
			name:        "typed YAML lists",
			in:          "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a, namespace: prod}\n  status: {podIP: 10.244.1.1}\n---\napiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: web}\n",
			wantObjects: []string{"Pod prod/a"},
			wantSkipped: map[string]int{"apps/v1 Deployment": 1},
		},
		{
			name: "empty",
			in:   "",
		},
		{
			name: "empty list",
			in:   "apiVersion: v1\nkind: List\nitems: []\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := file.DecodeManifests(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range res.Changes {
				got = append(got, c.Kind.String()+" "+c.Namespace+"/"+c.Name)
				checkObject(t, c)
			}
			if !reflect.DeepEqual(got, tc.wantObjects) {
				t.Errorf("objects = %q, want %q", got, tc.wantObjects)
			}
			if tc.wantSkipped == nil {
				tc.wantSkipped = map[string]int{}
			}
			if !reflect.DeepEqual(res.Skipped, tc.wantSkipped) {
				t.Errorf("skipped = %v, want %v", res.Skipped, tc.wantSkipped)
			}
		})
	}
}

// checkObject checks that a change carries a converted object of its kind,
// with the change's identity.
func checkObject(t *testing.T, c index.Change) {
	t.Helper()
	var m object.Meta
	switch o := c.Object.(type) {
	case *object.Service:
		m = o.Meta
	case *object.EndpointSlice:
		m = o.Meta
	case *object.Pod:
		m = o.Meta
	case *object.Namespace:
		m = o.Meta
	default:
		t.Fatalf("%s %s/%s: object of type %T", c.Kind, c.Namespace, c.Name, c.Object)
	}
	if m.Name != c.Name || m.Namespace != c.Namespace {
		t.Errorf("%s %s/%s: object is %s/%s", c.Kind, c.Namespace, c.Name, m.Namespace, m.Name)
	}
}

// The conversion itself is tested in package object; this checks that the
// file's fields reach it.
func TestDecodeFields(t *testing.T) {
	changes, err := file.Decode(strings.NewReader(jsonList))
	if err != nil {
		t.Fatal(err)
	}
	svc := changes[0].Object.(*object.Service)
	want := []netip.Addr{netip.MustParseAddr("10.96.0.20"), netip.MustParseAddr("fd00:10:96::20")}
	if !reflect.DeepEqual(svc.ClusterIPs(), want) {
		t.Errorf("clusterIPs = %v, want %v", svc.ClusterIPs(), want)
	}
	es := changes[1].Object.(*object.EndpointSlice)
	if es.ServiceName != "api" || len(es.Endpoints) != 1 || es.Endpoints[0].Addresses[0] != netip.MustParseAddr("fd00:10:244:1::30") {
		t.Errorf("slice = %+v", es)
	}
}

func TestDecodeErrors(t *testing.T) {
	const svcWeb = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  clusterIP: 10.96.0.10\n"
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{
			name:    "YAML syntax",
			in:      svcWeb + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n",
			wantErr: "document 2: invalid YAML",
		},
		{
			name:    "YAML duplicate key",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: api\n",
			wantErr: "document 1: invalid YAML",
		},
		{
			name:    "YAML bad separator",
			in:      svcWeb + "--- web\n" + svcWeb,
			wantErr: "document 1: invalid Yaml document separator: web",
		},
		{
			name:    "JSON syntax",
			in:      `{"apiVersion": "v1", "kind": "Service",`,
			wantErr: "document 1: invalid JSON",
		},
		{
			name:    "not an object",
			in:      "just some text\n",
			wantErr: "document 1: not a Kubernetes object",
		},
		{
			name:    "no kind",
			in:      "apiVersion: v1\nmetadata:\n  name: web\n",
			wantErr: "document 1: not a Kubernetes object: no kind",
		},
		{
			name:    "item without kind in a List",
			in:      "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: web}\n",
			wantErr: "document 1, item 1: not a Kubernetes object: no kind",
		},
		{
			name:    "list in a list",
			in:      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n",
			wantErr: "document 1, item 1: a List inside a list is not supported",
		},
		{
			name:    "Service invalid clusterIP",
			in:      svcWeb + "---\n" + strings.ReplaceAll(svcWeb, "web", "api") + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: staging\nspec:\n  clusterIP: 10.0.0.x\n",
			wantErr: `Service "staging/web" (document 3): invalid clusterIP "10.0.0.x"`,
		},
		{
			name:    "Service invalid externalName",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: search\n  namespace: prod\nspec:\n  type: ExternalName\n  externalName: a..b\n",
			wantErr: `Service "prod/search" (document 1): invalid externalName "a..b"`,
		},
		{
			name:    "Service wrong field type",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  ports:\n  - port: http\n",
			wantErr: `Service "prod/web" (document 1): json: cannot unmarshal`,
		},
		{
			name:    "Service name not a DNS label",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web.v2\n  namespace: prod\n",
			wantErr: `Service "prod/web.v2" (document 1): metadata.name is not a DNS label`,
		},
		{
			name:    "namespace not a DNS label",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: Prod\n",
			wantErr: `Service "Prod/web" (document 1): metadata.namespace is not a DNS label`,
		},
		{
			name:    "EndpointSlice invalid address",
			in:      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  metadata: {name: web-hq7vz, namespace: prod}\n  addressType: IPv4\n  endpoints:\n  - addresses: [10.244.1.x]\n",
			wantErr: `EndpointSlice "prod/web-hq7vz" (document 1, item 1): endpoints[0]: invalid address "10.244.1.x"`,
		},
		{
			name:    "EndpointSlice hostname not a DNS label",
			in:      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: db-1, namespace: prod}\naddressType: IPv4\nendpoints:\n- addresses: [10.244.1.20]\n  hostname: db.0\n",
			wantErr: `EndpointSlice "prod/db-1" (document 1): endpoints[0]: hostname "db.0" is not a DNS label`,
		},
		{
			name:    "Pod invalid IP",
			in:      `{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"ok","namespace":"prod"}},{"metadata":{"name":"web-1","namespace":"prod"},"status":{"podIP":"10.244.1"}}]}`,
			wantErr: `Pod "prod/web-1" (document 1, item 2): invalid podIP "10.244.1"`,
		},
		{
			name:    "Pod name not a DNS subdomain",
			in:      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web_1\n  namespace: prod\n",
			wantErr: `Pod "prod/web_1" (document 1): metadata.name is not a DNS subdomain`,
		},
		{
			name:    "Pod name too long",
			in:      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + strings.Repeat("a", 254) + "\n  namespace: prod\n",
			wantErr: `metadata.name is not a DNS subdomain: must be no more than 253 characters`,
		},
		{
			name:    "Namespace name not a DNS label",
			in:      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: Prod_1\n",
			wantErr: `Namespace "Prod_1" (document 1): metadata.name is not a DNS label`,
		},
		{
			name:    "duplicate",
			in:      svcWeb + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\n" + svcWeb,
			wantErr: `Service "prod/web" (document 3): defined twice, first in document 1`,
		},
		{
			name:    "duplicate through the default namespace",
			in:      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: default\n",
			wantErr: `Pod "default/a" (document 2): defined twice, first in document 1`,
		},
		{
			name:    "missing name",
			in:      "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: prod\n",
			wantErr: `Service (document 1): metadata.name is missing`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			changes, err := file.Decode(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, %d changes; want an error containing %q", len(changes), tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

const demoFile = "../../../../corefiles/demo-cluster.yaml"

// The demo cluster of `make run` decodes, and holds what its header says.
func TestDemoCluster(t *testing.T) {
	f, err := os.Open(demoFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := file.DecodeManifests(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped %v, want nothing skipped", res.Skipped)
	}
	counts := make(map[object.Kind]int)
	for _, c := range res.Changes {
		counts[c.Kind]++
	}
	want := map[object.Kind]int{
		object.KindNamespace:     3,
		object.KindService:       7,
		object.KindEndpointSlice: 7,
		object.KindPod:           11,
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}

	ix := index.New(index.Options{})
	ix.Replace(res.Changes)
	snap := ix.View()
	services := []struct {
		key        string
		typ        object.ServiceType
		clusterIPs int
		endpoints  int
	}{
		{key: "kubernetes.default", typ: object.ClusterIP, clusterIPs: 1, endpoints: 1},
		{key: "web.prod", typ: object.ClusterIP, clusterIPs: 1, endpoints: 3},
		{key: "db.prod", typ: object.Headless, endpoints: 3},
		{key: "search.prod", typ: object.ExternalName},
		{key: "api.prod", typ: object.ClusterIP, clusterIPs: 2, endpoints: 4},
		{key: "cache.prod", typ: object.Headless, endpoints: 1},
		{key: "web.staging", typ: object.ClusterIP, clusterIPs: 1, endpoints: 1},
	}
	for _, s := range services {
		got := snap.Service([]byte(s.key))
		if got == nil {
			t.Errorf("%s: not in the index", s.key)
			continue
		}
		if got.Type != s.typ || len(got.ClusterIPs()) != s.clusterIPs || got.EndpointCount() != s.endpoints {
			t.Errorf("%s: type %d, %d cluster IPs, %d endpoints; want type %d, %d, %d",
				s.key, got.Type, len(got.ClusterIPs()), got.EndpointCount(), s.typ, s.clusterIPs, s.endpoints)
		}
	}
	if got := snap.Service([]byte("search.prod")); got != nil && got.ExternalName() != "search.example.com." {
		t.Errorf("search.prod: externalName %q", got.ExternalName())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(kubectlList)
	f.Add(multiDoc)
	f.Add(jsonList)
	f.Add(serviceList)
	f.Add("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n")
	f.Add("--- x\n")
	f.Add(`{"kind":"Service","apiVersion":"v1","metadata":{"name":"a"},"spec":{"clusterIPs":["None","::1%1"]}}`)
	f.Fuzz(func(t *testing.T, in string) {
		changes, err := file.Decode(strings.NewReader(in))
		if err != nil {
			if changes != nil {
				t.Fatalf("changes with an error: %v", err)
			}
			return
		}
		for _, c := range changes {
			if c.Object == nil || c.Name == "" {
				t.Fatalf("change without an object or a name: %+v", c)
			}
		}
	})
}
