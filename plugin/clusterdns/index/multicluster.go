package index

import (
	"strings"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The multicluster zones (KEP-1645) are answered from ServiceImports and
// the EndpointSlices an MCS controller writes for them, labelled with the
// import's name and the id of the cluster the endpoints run in. They are
// indexed as Services and their slices are, in a table of their own
// (Index.clusterset): a ServiceImport becomes an object.Service
// (ClusterSetIP as ClusterIP), and its endpoints are named
// "<hostname>.<clusterid>", so that the same merge, with the same cost per
// event (what the changed slice holds), answers both zones.

// serviceTable is the writer's state of one set of services: the objects,
// their slices, the endpoint merges, and the next snapshot's entries and
// reverse records.
type serviceTable struct {
	// clusterset names endpoints "<hostname>.<clusterid>".
	clusterset bool
	services   map[string]*object.Service // by service key
	slices     map[string]sliceSet        // by service key
	sliceOwner map[string]string          // slice "namespace/name" -> service key
	// merged holds the endpoint merge of each published service whose
	// endpoints DNS shows, so a slice event redoes only its slice.
	merged map[string]*mergedService
	// unmerged are the services whose merge changed since their entry was
	// last built (see flushMerged).
	unmerged map[string]struct{}
	// The services and slices an update changed, to rebuild at its end.
	dirty       map[string]struct{}
	dirtySlices map[string]map[string]struct{} // service key -> changed slice names
	// The next snapshot's maps, built copy-on-write from the published ones.
	entries *entryWriter
	reverse *reverseWriter
}

func newServiceTable(clusterset bool) *serviceTable {
	return &serviceTable{
		clusterset:  clusterset,
		services:    make(map[string]*object.Service),
		slices:      make(map[string]sliceSet),
		sliceOwner:  make(map[string]string),
		merged:      make(map[string]*mergedService),
		unmerged:    make(map[string]struct{}),
		dirty:       make(map[string]struct{}),
		dirtySlices: make(map[string]map[string]struct{}),
		entries:     newEntryWriter(),
		reverse:     newReverseWriter(),
	}
}

func (t *serviceTable) sliceChanged(key, name string) {
	if t.dirtySlices[key] == nil {
		t.dirtySlices[key] = make(map[string]struct{})
	}
	t.dirtySlices[key][name] = struct{}{}
}

// SkipReason says why the index left out an object of the multicluster
// zones; its values are metric labels.
type SkipReason string

// The reasons an object is skipped.
const (
	// SkipNoIPs: a ClusterSetIP ServiceImport without spec.ips.
	SkipNoIPs SkipReason = "no_ips"
	// SkipNoServiceName: a slice with a source-cluster label but no
	// multi-cluster service name.
	SkipNoServiceName SkipReason = "no_service_name"
	// SkipBadClusterID: a multi-cluster slice whose cluster id is not a
	// DNS label.
	SkipBadClusterID SkipReason = "bad_cluster_id"
)

// skip reports an object the index leaves out.
func (ix *Index) skip(c Change, reason SkipReason, why string) {
	if ix.opts.Skipped != nil {
		ix.opts.Skipped(c.Kind, c.Namespace, c.Name, reason, why)
	}
}

// multiClusterService returns the ServiceImport whose endpoints es holds,
// or "" when it holds none or its labels are bad (which is reported).
func (ix *Index) multiClusterService(c Change, es *object.EndpointSlice) string {
	if es == nil || es.MultiClusterService == "" && es.SourceCluster == "" {
		return ""
	}
	if es.MultiClusterService == "" {
		ix.skip(c, SkipNoServiceName, "label multicluster.kubernetes.io/source-cluster="+es.SourceCluster+
			" without multicluster.kubernetes.io/service-name")
		return ""
	}
	if errs := validation.IsDNS1123Label(strings.ToLower(es.SourceCluster)); len(errs) > 0 {
		ix.skip(c, SkipBadClusterID, "label multicluster.kubernetes.io/source-cluster="+es.SourceCluster+
			" is not a DNS label: "+strings.Join(errs, "; "))
		return ""
	}
	return es.MultiClusterService
}

// serviceOf is the Service a ServiceImport is indexed as.
func serviceOf(si *object.ServiceImport) *object.Service {
	return (&object.Service{Meta: si.Meta, Type: si.Type, Ports: si.Ports}).SetClusterIPs(si.IPs)
}

// importOf is the ServiceImport svc was indexed from (serviceOf).
func importOf(svc *object.Service) *object.ServiceImport {
	return &object.ServiceImport{Meta: svc.Meta, Type: svc.Type, IPs: svc.ClusterIPs(), Ports: svc.Ports}
}
