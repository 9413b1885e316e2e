package clusterdns

import (
	"github.com/clusterdns/clusterdns/plugin/clusterdns/resolver"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/api"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/source/file"
)

// newSource builds the source the Corefile asks for: a manifests file, or
// the Kubernetes API.
func (cd *ClusterDNS) newSource() (Source, error) {
	if cd.cfg.sourceFile != "" {
		return file.New(cd.cfg.sourceFile, cd.index, file.WithOnLoad(func(err error) {
			if err != nil {
				sourceLoads.WithLabelValues("error").Inc()
				return
			}
			sourceLoads.WithLabelValues("ok").Inc()
		})), nil
	}
	a := cd.cfg.api
	cfg := api.Config{
		Endpoint:          a.endpoint,
		TLSCert:           a.tlsCert,
		TLSKey:            a.tlsKey,
		TLSCA:             a.tlsCA,
		Kubeconfig:        a.kubeconfig,
		KubeconfigContext: a.kubeconfigContext,
		QPS:               a.qps,
		Burst:             a.burst,
		MaxInflight:       a.maxInflight,
		LabelSelector:     a.labelSelector,
		NamespaceSelector: a.namespaceSelector,
		Pods:              cd.cfg.Pods == resolver.PodsVerified,
		NoEndpoints:       cd.cfg.index.NoEndpoints,
		StartupTimeout:    a.startupTimeout,
		Snapshot:          a.snapshot,
		SnapshotInterval:  a.snapshotInterval,
		OnSnapshotWrite: func(err error) {
			if err != nil {
				snapshotWrites.WithLabelValues("error").Inc()
				return
			}
			snapshotWrites.WithLabelValues("ok").Inc()
		},
	}
	// One namespace: watch only it. More: watch all, the index filters.
	if ns := cd.cfg.index.Filter.Namespaces; len(ns) == 1 {
		for n := range ns {
			cfg.Namespace = n
		}
	}
	return api.New(cfg, cd.index), nil
}
