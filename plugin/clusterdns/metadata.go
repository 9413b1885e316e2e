package clusterdns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/coredns/coredns/plugin/metadata"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
)

// metaLookupFor labels the lookups the plugin makes through the server
// (see Metadata).
const metaLookupFor = pluginName + "/lookup-for"

// The labels the stock kubernetes plugin publishes, under its name, so that
// log, acl, view and rewrite templates written for it keep working.
const (
	metaEndpoint        = "kubernetes/endpoint"
	metaKind            = "kubernetes/kind"
	metaNamespace       = "kubernetes/namespace"
	metaPortName        = "kubernetes/port-name"
	metaProtocol        = "kubernetes/protocol"
	metaService         = "kubernetes/service"
	metaCluster         = "kubernetes/cluster" // multicluster zones only
	metaParseError      = "kubernetes/parse-error"
	metaClientNamespace = "kubernetes/client-namespace"
	metaClientPodName   = "kubernetes/client-pod-name"
	metaZone            = "kubernetes/zone"
)

// errInvalidName is the value of kubernetes/parse-error: stock's text.
var errInvalidName = errors.New("invalid query name")

// lookupForKey marks the context of the lookups the plugin makes through
// the server, to walk a search path or to chase an ExternalName; its value
// is the name the client asked.
type lookupForKey struct{}

// Metadata implements metadata.Provider. It publishes what the stock
// kubernetes plugin publishes, with the same labels and values:
//
//   - for a name in the plugin's zones, its parts as the stock grammar cuts
//     them (kubernetes/kind, namespace, service, endpoint, port-name,
//     protocol), or kubernetes/parse-error alone when the name does not
//     have that shape (dns-version, reverse names, too many labels);
//   - with zonal, also kubernetes/zone: the topology zone of a zone-scoped
//     name, empty for the others;
//   - with pods verified, the namespace and name of the pod the query comes
//     from (kubernetes/client-namespace, kubernetes/client-pod-name).
//
// The lookups the plugin makes through the server (the names of a
// search-path walk, the targets of ExternalName services) also carry
// clusterdns/lookup-for, the name the client asked, so that the log plugin
// can tell them from the clients' own queries ("-" for those).
//
// It runs for every query when the metadata plugin is on, so it only cuts
// the name into substrings, without copying; the values are read when a
// plugin asks for them.
func (cd *ClusterDNS) Metadata(ctx context.Context, state request.Request) context.Context {
	if asked, ok := ctx.Value(lookupForKey{}).(string); ok {
		metadata.SetValueFunc(ctx, metaLookupFor, func() string { return asked })
	}
	if cd.cfg.Pods == resolver.PodsVerified {
		cd.clientPodMetadata(ctx, state.W)
	}
	if state.Req == nil || len(state.Req.Question) == 0 {
		return ctx
	}
	// The name as it came off the wire, in presentation form already:
	// state.Name would escape it again, which cost a third of this method.
	name := strings.ToLower(state.Req.Question[0].Name)
	zone := cd.resolver.Zone(name)
	if zone == "" {
		return ctx
	}
	multicluster := slices.Contains(cd.cfg.MulticlusterZones, zone)
	// Zone-scoped names are of the cluster's own zones only.
	zonal := cd.cfg.Zonal && !multicluster
	n, ok := parseMetadataName(name[:len(name)-len(zone)], zonal, multicluster)
	if !ok {
		metadata.SetValueFunc(ctx, metaParseError, errInvalidName.Error)
		return ctx
	}
	// One copy of the parts on the heap, shared by the functions
	// (captured by value, each would copy all of them).
	p := &n
	if multicluster {
		metadata.SetValueFunc(ctx, metaCluster, func() string { return p.cluster })
	}
	metadata.SetValueFunc(ctx, metaEndpoint, func() string { return p.endpoint })
	metadata.SetValueFunc(ctx, metaKind, func() string { return p.kind })
	metadata.SetValueFunc(ctx, metaNamespace, func() string { return p.namespace })
	metadata.SetValueFunc(ctx, metaPortName, func() string { return p.port })
	metadata.SetValueFunc(ctx, metaProtocol, func() string { return p.protocol })
	metadata.SetValueFunc(ctx, metaService, func() string { return p.service })
	if zonal {
		metadata.SetValueFunc(ctx, metaZone, func() string { return p.zone })
	}
	return ctx
}

// clientPodMetadata publishes the pod the query comes from, when the index
// knows one at the client's address.
func (cd *ClusterDNS) clientPodMetadata(ctx context.Context, w dns.ResponseWriter) {
	view := cd.index.View()
	if view == nil {
		return
	}
	namespace, name, ok := view.PodAt(clientIP(w))
	if !ok {
		return
	}
	metadata.SetValueFunc(ctx, metaClientNamespace, func() string { return namespace })
	metadata.SetValueFunc(ctx, metaClientPodName, func() string { return name })
}

// metadataName is a name of the zone cut as the stock kubernetes plugin's
// parseRequest cuts it: kind is "svc" or "pod" ("" at the apex), the other
// parts are the labels left of it, without their leading underscore for
// port and protocol; zone is the topology zone of a zone-scoped name.
type metadataName struct {
	kind, namespace, service, endpoint, port, protocol, zone string
	// cluster is the cluster id of <hostname>.<clusterid>.<svc>... in a
	// multicluster zone.
	cluster string
}

// parseMetadataName cuts rel, a lower-case name relative to its zone with
// the dot before the zone ("a.b.svc." or "" at the apex), as stock does:
// <ns>.<kind>, <service>.<ns>.<kind>, then one more label is an endpoint,
// two are port and protocol, or in a multicluster zone, when neither starts
// with an underscore, endpoint and cluster. With zonal, <zone>.pin|prefer._zone
// before a service is a zone-scoped name (zone may hold dots). The kind must
// be svc or pod, and there must be no more labels: else ok is false.
func parseMetadataName(rel string, zonal, multicluster bool) (n metadataName, ok bool) {
	rel = strings.TrimSuffix(rel, ".")
	if rel == "" || rel == "svc" || rel == "pod" {
		return n, true // the apex and the kind alone: every part empty
	}
	var labels [5]string // right to left
	count := 0
	for rel != "" {
		if count == len(labels) {
			if zonal && labels[0] == "svc" && labels[3] == "_zone" && (labels[4] == "pin" || labels[4] == "prefer") {
				return metadataName{kind: labels[0], namespace: labels[1], service: labels[2], zone: rel}, true
			}
			return metadataName{}, false
		}
		rel, labels[count] = cutLastLabel(rel)
		count++
	}
	if labels[0] != "svc" && labels[0] != "pod" {
		return metadataName{}, false
	}
	n.kind, n.namespace, n.service = labels[0], labels[1], labels[2]
	switch count {
	case 4:
		n.endpoint = labels[3]
	case 5:
		if multicluster && !strings.HasPrefix(labels[3], "_") && !strings.HasPrefix(labels[4], "_") {
			n.cluster, n.endpoint = labels[3], labels[4]
			break
		}
		n.protocol = strings.TrimPrefix(labels[3], "_")
		n.port = strings.TrimPrefix(labels[4], "_")
	}
	return n, true
}

// cutLastLabel splits "a.b.c" into "a.b" and "c", in presentation form: a
// dot escaped with a backslash is part of a label.
func cutLastLabel(name string) (rest, last string) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] != '.' {
			continue
		}
		escapes := 0
		for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
			escapes++
		}
		if escapes%2 == 0 {
			return name[:i], name[i+1:]
		}
	}
	return "", name
}

// clientIP is the address the query came from, without copying it to a
// string as request.Request.IP does.
func clientIP(w dns.ResponseWriter) netip.Addr {
	var ip netip.Addr
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a != nil {
			if ap, err := netip.ParseAddrPort(a.String()); err == nil {
				ip = ap.Addr()
			}
		}
	}
	return ip.Unmap()
}
