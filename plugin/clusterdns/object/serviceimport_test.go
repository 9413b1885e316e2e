package object

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
)

func TestFromServiceImport(t *testing.T) {
	meta := metav1.ObjectMeta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, CreationTimestamp: metav1.NewTime(created)}
	for _, tt := range []struct {
		name string
		spec mcsv1alpha1.ServiceImportSpec
		want *ServiceImport
		err  string
	}{
		{name: "ClusterSetIP, dual-stack, named and unnamed ports",
			spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP, IPs: []string{"10.100.0.10", "fd00::10"},
				Ports: []mcsv1alpha1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}, {Protocol: corev1.ProtocolUDP, Port: 53}}},
			want: &ServiceImport{Meta: Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, Changed: StampOf(created)},
				Type: ClusterIP, IPs: addrs("10.100.0.10", "fd00::10"),
				Ports: []Port{{Name: "http", Protocol: "tcp", Port: 80}, {Protocol: "udp", Port: 53}}}},
		// The index skips it, with a log line and a metric.
		{name: "ClusterSetIP without IPs", spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP},
			want: &ServiceImport{Meta: Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, Changed: StampOf(created)}, Type: ClusterIP}},
		{name: "headless: IPs are not its", spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.Headless, IPs: []string{"10.100.0.10"}},
			want: &ServiceImport{Meta: Meta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}, Changed: StampOf(created)}, Type: Headless}},
		{name: "unknown type", spec: mcsv1alpha1.ServiceImportSpec{Type: "LoadBalancer"}, err: `spec.type "LoadBalancer"`},
		{name: "bad IP", spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.ClusterSetIP, IPs: []string{"10.100.0.x"}}, err: `spec.ips: "10.100.0.x"`},
		{name: "bad port", spec: mcsv1alpha1.ServiceImportSpec{Type: mcsv1alpha1.Headless, Ports: []mcsv1alpha1.ServicePort{{Name: "http", Port: 70000}}},
			err: "out of range"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromServiceImport(&mcsv1alpha1.ServiceImport{ObjectMeta: meta, Spec: tt.spec})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromServiceImport = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

// A slice keeps its multi-cluster labels, as written: the index checks
// them.
func TestFromEndpointSliceMultiCluster(t *testing.T) {
	es, err := FromEndpointSlice(&discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "db-a", Namespace: "prod", Labels: map[string]string{
			mcsv1alpha1.LabelServiceName: "db", mcsv1alpha1.LabelSourceCluster: "Cluster-A", "other": "dropped"}},
		AddressType: discoveryv1.AddressTypeIPv4,
	})
	if err != nil || es.ServiceName != "" || es.MultiClusterService != "db" || es.SourceCluster != "Cluster-A" || es.Labels != nil {
		t.Errorf("FromEndpointSlice = %+v, %v", es, err)
	}
}
