package cluster

import (
	"context"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ReadyAddresses lists the IPv4 EndpointSlices of the Service ns/svc, as the
// controller-manager wrote them, and returns the addresses of their ready
// endpoints. check, when given, vets each slice first (its ports, say), and
// its error is returned.
func ReadyAddresses(ctx context.Context, client kubernetes.Interface, ns, svc string, check func(*discoveryv1.EndpointSlice) error) ([]string, error) {
	list, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	var ready []string
	for i := range list.Items {
		s := &list.Items[i]
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		if check != nil {
			if err := check(s); err != nil {
				return nil, err
			}
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				ready = append(ready, ep.Addresses...)
			}
		}
	}
	return ready, nil
}
