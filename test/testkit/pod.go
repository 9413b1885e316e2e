package testkit

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// RealisticPod is the i-th pod in namespace ns as a Deployment's ReplicaSet
// asks the API server to create it: an owner, labels, annotations, a node
// and a container with resources, probes and env (one of 500 apps, one of
// 100 nodes). What the API server, admission, the scheduler and the kubelet
// add (a UID, the projected token volume, status, managedFields) is the
// caller's to add: the bench writes its copies to etcd with its own, the
// pod watch's decoding tests as the API server sends them. One shape for
// both, so that what the decoder is tested on is what the bench measures.
func RealisticPod(ns string, i int) *corev1.Pod {
	app := fmt.Sprintf("app-%d", i%500)
	hash := fmt.Sprintf("%08x", uint32(i%500)*2654435761)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%s-%05x", app, hash, i),
			Namespace: ns,
			Labels: map[string]string{
				"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench",
				"app.kubernetes.io/version": "1.4.2", "pod-template-hash": hash,
			},
			Annotations: map[string]string{
				"kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z",
				"prometheus.io/scrape":              "true", "prometheus.io/port": "9090",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + hash,
				UID: types.UID(fmt.Sprintf("7d1c9a2e-0000-4000-8000-%012d", i%500)), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName: fmt.Sprintf("node-%d", i%100),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: "registry.example/app:1.4.2",
				Args:  []string{"--listen=:8080", "--metrics=:9090", "--log-level=info"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9090, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
					{Name: "GOMAXPROCS", Value: "2"},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}, PeriodSeconds: 10},
				LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}}, PeriodSeconds: 10},
			}},
		},
	}
}
