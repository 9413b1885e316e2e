package api

import (
	"context"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	mcsv1alpha1 "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"
	mcsclient "sigs.k8s.io/mcs-api/pkg/client/clientset/versioned/typed/apis/v1alpha1"
)

// serviceImportInformer watches ServiceImports (multicluster): with the
// typed client of the mcs-api module CoreDNS pins, version v1alpha1 as
// stock reads, and the same slim transform as every other kind, so the
// cache holds what DNS reads and not the objects. A dynamic client would
// decode each object into nested maps first, for nothing. Only the
// `labels` selector applies on the server: ServiceImports are the
// clusterset's Services. The multi-cluster EndpointSlices come through
// the EndpointSlice informer, which already lists every slice: no second
// watch of them, unlike stock's.
func serviceImportInformer(rc *rest.Config, namespace, selector string) (cache.SharedIndexInformer, error) {
	// Custom resources are served as JSON only: the protobuf content type
	// of the other clients would be refused.
	jc := rest.CopyConfig(rc)
	jc.ContentType = runtime.ContentTypeJSON
	client, err := mcsclient.NewForConfig(jc)
	if err != nil {
		return nil, err
	}
	imports := client.ServiceImports(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return imports.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return imports.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), &mcsv1alpha1.ServiceImport{}, 0, cache.Indexers{})
	if err := inf.SetTransform(slimTransform); err != nil {
		return nil, err
	}
	return inf, nil
}

// slimServiceImport converts a ServiceImport for the informer's store.
func slimServiceImport(o *mcsv1alpha1.ServiceImport) (slimMeta, any, error) {
	si, err := object.FromServiceImport(o)
	return slimMeta{name: o.Name, namespace: o.Namespace, resourceVersion: o.ResourceVersion}, si, err
}
