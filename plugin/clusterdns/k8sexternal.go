package clusterdns

import (
	"net/netip"
	"strings"

	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/pkg/dnsutil"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// The lookups of the k8s_external plugin (its Externaler interface), which
// answers for Services under a zone outside the cluster:
// <svc>.<ns>.<zone> with the service's externalIPs and load balancer
// ingress, and with `headless` the endpoints of headless services. The
// plugin finds them under the name "kubernetes" (stockname.go) and builds
// its answers from msg.Service values; each is filled here exactly as the
// kubernetes plugin fills it (Host, Port, TTL, Key, TargetStrip), from
// the view the handler answers from.
//
// Under the visibility option, a query in an external zone is answered for
// its client as a query in the cluster zone is: a hidden namespace's names
// are answered as a nonexistent namespace's. The zone's transfer carries
// the namespaces exported to every client, as the cluster zone's.

// keyPrefix is the first element of every msg.Service Key, as the
// kubernetes plugin writes it; k8s_external strips it with msg.Domain.
const keyPrefix = "c"

// The suffixes of the keys of ExternalServices' headless map, as the
// kubernetes plugin's Endpoint and PortProtocol (k8s_external's transfer
// switches on them).
const (
	keyEndpoint     = "endpoint"
	keyPortProtocol = "port.protocol"
)

// noPorts stands for the ports of a service or endpoint that has none: the
// kubernetes plugin's sentinel, port -1, which gives address records but
// no SRV record.
var noPorts = []object.Port{{}}

// External returns the records of state's name in the external zone
// state.Zone, and the rcode when there are none: the services' external
// addresses, or with headless the endpoints of a headless service; for a
// PTR question, the services with that external IP. Only the namespaces
// state's client may see are looked at.
func (cd *ClusterDNS) External(state request.Request, headless bool) ([]msg.Service, int) {
	view := cd.index.View()
	if view == nil {
		return nil, dns.RcodeServerFailure
	}
	client := cd.clientOf(view, state.W)
	if state.QType() == dns.TypePTR {
		if ip := dnsutil.ExtractAddressFromReverse(state.Name()); ip != "" {
			return cd.externalReverse(view, client, ip)
		}
		// Not a reverse name: NXDOMAIN or NODATA, as for other types.
	}
	base, _ := dnsutil.TrimZone(state.Name(), state.Zone)
	segs := dns.SplitDomainName(base)
	last := len(segs) - 1
	if last < 0 {
		return nil, dns.RcodeServerFailure
	}
	namespace := segs[last]
	if !view.NamespaceExists([]byte(namespace)) || !index.Visible(view, client, namespace) {
		return nil, dns.RcodeNameError
	}
	last--
	if last < 0 {
		return nil, dns.RcodeSuccess
	}
	service := segs[last]
	last--
	var port, protocol, endpoint string
	switch last {
	case 0:
		endpoint = strings.TrimPrefix(segs[last], "_")
		last--
	case 1:
		protocol = strings.TrimPrefix(segs[last], "_")
		port = strings.TrimPrefix(segs[last-1], "_")
		last -= 2
	}
	if last != -1 {
		return nil, dns.RcodeNameError // too many labels
	}
	svc := view.Service([]byte(service + "." + namespace))
	if svc == nil {
		return nil, dns.RcodeNameError
	}
	zonePath := msg.Path(state.Zone, keyPrefix)
	base = zonePath + "/" + svc.Namespace + "/" + svc.Name
	ttl := svc.RecordTTL(cd.cfg.TTL)
	var services []msg.Service
	if headless && !hasExternal(svc) && (svc.Type == object.Headless || endpoint != "") {
		for ep := range svc.Endpoints() {
			if endpoint != "" && !strings.EqualFold(endpoint, ep.Name) {
				continue
			}
			for _, p := range portsOrNone(ep.Ports()) {
				if matchPort(port, protocol, p) {
					services = append(services, msg.Service{Host: ep.Addr.String(), Port: portNumber(p), TTL: ttl, Key: base + "/" + ep.Name})
				}
			}
		}
	} else {
		forExternal(svc, func(host string) {
			for _, p := range portsOrNone(svc.Ports) {
				if matchPort(port, protocol, p) {
					services = append(services, msg.Service{Host: host, Port: portNumber(p), TTL: ttl, Key: base})
				}
			}
		})
	}
	if len(services) == 0 {
		return nil, dns.RcodeNameError
	}
	if state.QType() == dns.TypePTR {
		return nil, dns.RcodeSuccess // the name exists: NODATA
	}
	return services, dns.RcodeSuccess
}

// externalReverse answers a PTR question for ip: "<svc>.<ns>" of every
// service with that external IP that client may see, which k8s_external
// joins with its zone. It scans the services: reverse zones under
// k8s_external are rare, and an index of external IPs would cost every
// view memory for them.
func (cd *ClusterDNS) externalReverse(view *index.View, client index.Client, ip string) ([]msg.Service, int) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, dns.RcodeNameError
	}
	var services []msg.Service
	for _, svc := range view.Services() {
		if !view.VisibleService(client, svc) {
			continue
		}
		for _, a := range svc.ExternalIPs() {
			if a == addr {
				services = append(services, msg.Service{Host: svc.Name + "." + svc.Namespace, TTL: cd.cfg.TTL})
				break
			}
		}
	}
	if len(services) == 0 {
		return nil, dns.RcodeNameError
	}
	return services, dns.RcodeSuccess
}

// ExternalAddress returns the addresses of this server for the ns1.<apex>
// glue of an external zone, as the kubernetes plugin finds them: the
// external addresses of the services that have this server as an endpoint
// (with headless, a headless service's endpoints), else the server's own
// addresses but loopback ones. k8s_external sets the records' names and
// TTLs. Visibility does not apply: k8s_external names every record
// ns1.<apex>.<zone>, so the services found here are never told, and the
// addresses are the server's own.
func (cd *ClusterDNS) ExternalAddress(state request.Request, headless bool) []dns.RR {
	var rrs []dns.RR
	add := func(name string, a netip.Addr) {
		hdr := dns.RR_Header{Name: name, Class: dns.ClassINET}
		if a.Is4() {
			hdr.Rrtype = dns.TypeA
			rrs = append(rrs, &dns.A{Hdr: hdr, A: a.AsSlice()})
			return
		}
		hdr.Rrtype = dns.TypeAAAA
		rrs = append(rrs, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
	}
	found := false
	if view := cd.index.View(); view != nil {
		for _, local := range cd.cfg.LocalAddrs {
			for _, name := range view.ReverseNames(local) {
				// Endpoint names have three labels: endpoint.svc.ns.
				_, key, _ := strings.Cut(name, ".")
				if strings.Count(key, ".") != 1 {
					continue
				}
				svc := view.Service([]byte(key))
				if svc == nil {
					continue
				}
				found = true
				svcName := key + "." + state.Zone
				if headless && svc.Type == object.Headless {
					for ep := range svc.Endpoints() {
						add(ep.Name+"."+svcName, ep.Addr)
					}
					continue
				}
				for _, a := range svc.ExternalIPs() {
					add(svcName, a)
				}
			}
		}
	}
	if !found {
		for _, a := range cd.cfg.LocalAddrs {
			// A loopback address is no use to the clients of an external
			// zone, and the kubernetes plugin leaves it out.
			if !a.IsLoopback() {
				add("ns.dns."+state.Zone, a)
			}
		}
	}
	return rrs
}

// ExternalServices returns every record of the external zone, for its
// transfer: the services with external addresses, each address once per
// port and once more as the target of the port's SRV record, and with
// headless the endpoints of headless services, grouped by the names
// k8s_external answers them under. Under the visibility option, only the
// namespaces exported to every client: a transfer is asked by no pod, and
// a secondary answers whoever asks it.
func (cd *ClusterDNS) ExternalServices(zone string, headless bool) ([]msg.Service, map[string][]msg.Service) {
	var services []msg.Service
	headlessServices := make(map[string][]msg.Service)
	view := cd.index.View()
	if view == nil {
		return nil, headlessServices
	}
	zonePath := msg.Path(zone, keyPrefix)
	for _, svc := range view.Services() {
		if !view.VisibleService(index.Client{}, svc) {
			continue
		}
		base := zonePath + "/" + svc.Namespace + "/" + svc.Name
		ttl := svc.RecordTTL(cd.cfg.TTL)
		if headless && !hasExternal(svc) && svc.Type == object.Headless {
			endpointsKey := base + "/" + keyEndpoint
			for ep := range svc.Endpoints() {
				key, host := base+"/"+ep.Name, ep.Addr.String()
				for _, p := range portsOrNone(ep.Ports()) {
					s := msg.Service{Host: host, Port: portNumber(p), TTL: ttl, Key: key}
					headlessServices[endpointsKey] = append(headlessServices[endpointsKey], s)
					// Unnamed ports have no SRV record (DNS spec 2.3.2).
					if p.Name == "" {
						continue
					}
					s.Host = msg.Domain(key)
					s.Key = base + "/_" + p.Protocol + "/_" + strings.ToLower(p.Name)
					portKey := s.Key + "/" + keyPortProtocol
					headlessServices[portKey] = append(headlessServices[portKey], s)
				}
			}
			continue
		}
		forExternal(svc, func(host string) {
			for _, p := range portsOrNone(svc.Ports) {
				s := msg.Service{Host: host, Port: portNumber(p), TTL: ttl, Key: base}
				services = append(services, s)
				s.Key = base + "/_" + p.Protocol + "/_" + strings.ToLower(p.Name)
				s.TargetStrip = 2
				services = append(services, s)
			}
		})
	}
	return services, headlessServices
}

// ExternalSerial returns the SOA serial of an external zone: the view's,
// which moves with every change the view shows.
func (cd *ClusterDNS) ExternalSerial(string) uint32 {
	if view := cd.index.View(); view != nil {
		return view.Serial()
	}
	return 0
}

func hasExternal(svc *index.Service) bool {
	return len(svc.ExternalIPs())+len(svc.ExternalHostnames()) > 0
}

// forExternal calls fn with each external address of svc, in the order
// the kubernetes plugin lists them, then each load balancer hostname.
func forExternal(svc *index.Service, fn func(host string)) {
	for _, a := range svc.ExternalIPs() {
		fn(a.String())
	}
	for _, h := range svc.ExternalHostnames() {
		fn(h)
	}
}

func portsOrNone(ports []object.Port) []object.Port {
	if len(ports) == 0 {
		return noPorts
	}
	return ports
}

// portNumber is p's number, or the kubernetes plugin's -1 for noPorts.
func portNumber(p object.Port) int {
	if p == (object.Port{}) {
		return -1
	}
	return int(p.Port)
}

// matchPort tells whether p is the port and protocol asked ("" matches
// any), case-insensitively.
func matchPort(port, protocol string, p object.Port) bool {
	return (port == "" || strings.EqualFold(port, p.Name)) && (protocol == "" || strings.EqualFold(protocol, p.Protocol))
}
