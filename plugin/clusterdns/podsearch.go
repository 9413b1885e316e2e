package clusterdns

import "slices"

// A pod's search list, as the kubelet writes it into the pod's resolv.conf
// for dnsPolicy ClusterFirst: <ns>.svc.<zone>, svc.<zone>, <zone>, then the
// node's search domains, with ndots:5. Three parts of the plugin build it
// here: AutoPath gives it to the autopath plugin, search_path walks it on
// the server, and explain shows the walk a stub resolver makes through it.

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
