// Package external is the k8s_external directive: it answers for the
// Services of a Kubernetes cluster under a zone outside it, as
// <svc>.<ns>.<zone> with the services' external IPs and load balancer
// ingress (and with headless, the endpoints of headless services), with
// the SOA, NS and glue that make the zone a proper one, and offers the
// zone for transfer. It holds no data: the cluster plugin answers its
// lookups through Externaler, and this package turns them into records
// the way CoreDNS's k8s_external does, so both answer alike.
package external

import (
	"strings"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/etcd/msg"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// backendName is the handler name the backend is found under: CoreDNS's
// k8s_external asks for "kubernetes", and clusterdns answers to that name
// (plugin/clusterdns/stockname.go), so a Corefile written for stock works.
const backendName = "kubernetes"

// Externaler is what the backend offers: the lookups of CoreDNS's
// k8s_external contract, with results as msg.Service values filled as the
// kubernetes plugin fills them.
type Externaler interface {
	// External returns the services matching state's name in the external
	// zone state.Zone, and the rcode to answer when there are none.
	External(state request.Request, headless bool) ([]msg.Service, int)
	// ExternalAddress returns the addresses of this server, the glue of
	// the zone's name server; the caller names them and sets their TTL.
	ExternalAddress(state request.Request, headless bool) []dns.RR
	// ExternalServices returns every service of zone, for its transfer,
	// and with headless the endpoints of headless services keyed by the
	// names they are answered under.
	ExternalServices(zone string, headless bool) ([]msg.Service, map[string][]msg.Service)
	// ExternalSerial returns the SOA serial of zone.
	ExternalSerial(zone string) uint32
}

// External answers the external zones from its backend.
type External struct {
	Next  plugin.Handler
	Zones []string
	Fall  fall.F

	// apexNames holds "<apex>.<zone>" for each of Zones in lower case, the
	// subdomain the name server lives in; kept so a query does not build
	// them.
	apexNames  []string
	apex       string
	hostmaster string
	ttl        uint32
	headless   bool

	// directiveAt is the Corefile line of the directive, for the error
	// when the backend is missing, which only OnStartup can tell.
	directiveAt string
	// config is the server block's, where the backend is found.
	config   *dnsserver.Config
	backend  Externaler
	upstream *upstream.Upstream
}

// New returns an External with the defaults of CoreDNS's k8s_external:
// apex "dns", hostmaster "hostmaster", TTL 5.
func New() *External {
	return &External{apex: "dns", hostmaster: "hostmaster", ttl: 5, upstream: upstream.New()}
}

// setZones sets the zones and the names derived from them.
func (e *External) setZones(zones []string) {
	e.Zones = zones
	e.apexNames = make([]string, len(zones))
	for i, z := range zones {
		e.apexNames[i] = strings.ToLower(e.apex) + "." + z
	}
}
