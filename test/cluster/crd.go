package cluster

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	mcscrd "sigs.k8s.io/mcs-api/config/crd"
	"sigs.k8s.io/yaml"
)

// InstallServiceImportCRD installs the ServiceImport CRD of the pinned
// sigs.k8s.io/mcs-api module (its embedded YAML, not a copy), as an MCS
// implementation would, and returns once the API server serves
// serviceimports. Through the dynamic client: the apiextensions types
// are in a module clusterdns does not otherwise need.
func (c *Cluster) InstallServiceImportCRD() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StartTimeout)
	defer cancel()
	client, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		c.t.Fatalf("testbed: %v", err)
	}
	var crd unstructured.Unstructured
	if err := yaml.Unmarshal(mcscrd.ServiceImportCRD, &crd.Object); err != nil {
		c.t.Fatalf("testbed: the mcs-api ServiceImport CRD: %v", err)
	}
	crds := client.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("testbed: create the ServiceImport CRD: %v", err)
	}
	imports := client.Resource(schema.GroupVersionResource{Group: "multicluster.x-k8s.io", Version: "v1alpha1", Resource: "serviceimports"})
	Eventually(c.t, ctx, "the ServiceImport CRD served", func() error {
		got, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		established := false
		for _, cond := range conds {
			m, _ := cond.(map[string]any)
			established = established || m["type"] == "Established" && m["status"] == "True"
		}
		if !established {
			return fmt.Errorf("not established: %v", conds)
		}
		// Established comes before the API server's handlers serve the
		// resource: list it.
		_, err = imports.List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
}
