package clusterdns

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

// A pod's search list, as the kubelet writes it into the pod's resolv.conf
// for dnsPolicy ClusterFirst: <ns>.svc.<zone>, svc.<zone>, <zone>, then the
// node's search domains, with ndots:5. Three parts of the plugin build it
// here: AutoPath gives it to the autopath plugin, search_path walks it on
// the server, and explain shows the walk a stub resolver makes through it.
// The node's search domains are read once per parse (nodeSearch).

const (
	// podNdots is the ndots of the kubelet's resolv.conf: a name with at
	// least that many dots was tried as it is before the search list.
	podNdots = 5
	// maxSearchPaths is the kubelet's limit on a pod's search domains,
	// the pod's own three included.
	maxSearchPaths = 32
)

// searchList appends to dst the search list of a pod of namespace ns (lower
// case) whose cluster domain is zone, followed by every one of domains, as
// the kubernetes plugin's AutoPath lists it; kubeletLimits makes it the
// list the kubelet writes.
func searchList(dst []string, ns, zone string, domains []string) []string {
	svcZone := "svc." + zone
	if zone == "." {
		svcZone = "svc."
	}
	dst = append(dst, ns+"."+svcZone, svcZone, zone)
	return append(dst, domains...)
}

// kubeletLimits cuts a search list as the kubelet does: a name already in
// the list is left out, and at most maxSearchPaths are kept. It reuses the
// list's array.
func kubeletLimits(list []string) []string {
	kept := list[:0]
	for _, d := range list {
		if len(kept) == maxSearchPaths {
			break
		}
		if !slices.Contains(kept, d) {
			kept = append(kept, d)
		}
	}
	return kept
}

// zoneWalk is the walk of a pod whose cluster domain is zone, after its
// first step: the suffixes the asked name is tried with, the empty suffix
// (the name as it is) last.
type zoneWalk struct {
	zone     string
	suffixes []string
}

// walkOf returns the walk of zone among walks, nil if none.
func walkOf(walks []zoneWalk, zone string) *zoneWalk {
	for i := range walks {
		if walks[i].zone == zone {
			return &walks[i]
		}
	}
	return nil
}

// newZoneWalk builds the walk of zone: the kubelet's search list of a pod
// of that zone after the pod's own <ns>.svc.<zone> (the query that starts
// the walk), then the name as it is. The namespace is the query's, so the
// list is built without one: no node domain is ".svc.<zone>", and the
// element is dropped.
func newZoneWalk(zone string, domains []string) zoneWalk {
	list := kubeletLimits(searchList(nil, "", zone, domains))
	return zoneWalk{zone: zone, suffixes: append(list[1:], "")}
}

// newAutoPathWalks builds, for each of zones, what AutoPath gives a pod of
// the zone after the pod's own <ns>.svc.<zone>: the kubernetes plugin's
// list, every one of domains kept, then autopath's sentinel "" (the name
// as it is). Built once, it spares AutoPath building svc.<zone> and
// copying the domains one by one on every query.
func newAutoPathWalks(zones, domains []string) []zoneWalk {
	walks := make([]zoneWalk, 0, len(zones))
	for _, z := range zones {
		list := searchList(nil, "", z, domains)
		walks = append(walks, zoneWalk{zone: z, suffixes: append(list[1:], "")})
	}
	return walks
}

// forPod is the whole list of a pod of namespace ns: its own
// <ns>.svc.<zone>, then the walk. It is the caller's to keep.
func (w *zoneWalk) forPod(ns string) []string {
	list := make([]string, 0, 1+len(w.suffixes))
	list = append(list, ns+"."+w.suffixes[0]) // suffixes[0] is svc.<zone>
	return append(list, w.suffixes...)
}

// defaultResolvConf is where the server reads the node's search domains
// from (see nodeSearch): a cluster DNS pod runs with dnsPolicy Default, so
// its resolv.conf is the one the kubelet gives to pods. A variable for the
// tests.
var defaultResolvConf = "/etc/resolv.conf"

// nodeSearch is the node's search domains, read from defaultResolvConf at
// most once per parse, by the first option that needs them: pods verified
// (AutoPath appends them to a pod's search list), explain without its
// search line and search_path without its resolv_conf. One policy holds
// for all three:
//
//   - a missing file means no search domains: the kubelet then has none
//     to give pods either (and the kubernetes plugin reads it so);
//   - a file that cannot be read, or whose search line holds something
//     that is not a domain name, is an error naming the line of the option:
//     a search list the server only half knows would walk otherwise than
//     the pods' own resolvers. pods verified alone only warns and gives
//     none: the kubernetes plugin starts whatever the file holds, and a
//     Corefile carried over from it must start too.
//
// A file the Corefile names (search_path's resolv_conf) must be there.
type nodeSearch struct {
	read bool
	list []string
	err  error
}

func (n *nodeSearch) domains() ([]string, error) {
	if !n.read {
		n.read = true
		n.list, n.err = readSearchDomains(defaultResolvConf)
		if errors.Is(n.err, fs.ErrNotExist) {
			n.err = nil
		}
	}
	return n.list, n.err
}

// domainsFor is domains for an option of ours that needs them (explain,
// search_path): a bad file is an error at the option's line, which the
// dispenser has passed by the time its block is read.
func (n *nodeSearch) domainsFor(c *caddy.Controller, line int, option string) ([]string, error) {
	domains, err := n.domains()
	if err != nil {
		return nil, fmt.Errorf("%s:%d - Error during parsing: %s: %v", c.File(), line, option, err)
	}
	return domains, nil
}

// readSearchDomains returns the search domains of a resolv.conf as the
// kubelet reads them for pods: the last search line, without the root,
// lower case and fully qualified.
func readSearchDomains(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var domains []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "search" {
			continue
		}
		domains = nil
		for _, d := range fields[1:] {
			if d == "." {
				continue
			}
			if _, ok := dns.IsDomainName(d); !ok || strings.Contains(d, `\`) {
				return nil, fmt.Errorf("%s: search domain %q is not a domain name", path, d)
			}
			domains = append(domains, dns.Fqdn(strings.ToLower(d)))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return domains, nil
}
