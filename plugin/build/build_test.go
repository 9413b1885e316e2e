package build

import (
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

func TestClusterdnsInKubernetesSlot(t *testing.T) {
	got := dnsserver.Directives
	i := slices.Index(got, "clusterdns")
	if i < 0 {
		t.Fatalf("clusterdns is not in the directive order %v", got)
	}
	// Around kubernetes, CoreDNS's order is ... hosts, route53, azure,
	// clouddns, k8s_external, kubernetes, file ...; of these hosts,
	// k8s_external and file are compiled in, and kubernetes stays to say
	// it was renamed. k8s_external must run before clusterdns, as it runs
	// before kubernetes in stock: its zone may lie inside ours.
	if got[i-1] != "k8s_external" || got[i-2] != "hosts" || got[i+1] != "kubernetes" || got[i+2] != "file" {
		t.Errorf("clusterdns sits between %s and %s, want between hosts, k8s_external and kubernetes, file", got[i-1], got[i+1])
	}
}

func TestDirectivesFollowsStockOrder(t *testing.T) {
	stock := []string{"errors", "cache", "kubernetes", "forward", "unknown"}
	got := Directives(stock)
	want := []string{"errors", "cache", "clusterdns", "kubernetes", "forward"}
	if !slices.Equal(got, want) {
		t.Errorf("Directives(%v) = %v, want %v", stock, got, want)
	}
	// A moved kubernetes slot moves clusterdns with it.
	got = Directives([]string{"kubernetes", "errors"})
	if !slices.Equal(got, []string{"clusterdns", "kubernetes", "errors"}) {
		t.Errorf("got %v", got)
	}
}

func TestDirectivesWithoutKubernetesSlot(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an order without a kubernetes slot")
		}
	}()
	Directives([]string{"errors", "forward"})
}

func TestEveryPluginRegistered(t *testing.T) {
	var registered []string
	for _, p := range caddy.ListPlugins()["others"] {
		if name, ok := strings.CutPrefix(p, "dns."); ok {
			registered = append(registered, name)
		}
	}
	for _, p := range Plugins {
		if !slices.Contains(registered, p) {
			t.Errorf("%s is in Plugins but not compiled in", p)
		}
		if !slices.Contains(dnsserver.Directives, p) {
			t.Errorf("%s is compiled in but has no place in the order", p)
		}
	}
	for _, p := range registered {
		if _, ok := renamed[p]; !ok && !slices.Contains(Plugins, p) {
			t.Errorf("%s is compiled in but not listed in Plugins", p)
		}
	}
}

// TestRenamedDirective starts the server with a Corefile carried over
// from stock CoreDNS: it must fail naming the file, the line and the
// directive to write instead.
func TestRenamedDirective(t *testing.T) {
	corefile := ".:0 {\n    errors\n    kubernetes cluster.local {\n        pods insecure\n    }\n}\n"
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err == nil {
		inst.Stop()
		t.Fatal("a Corefile with kubernetes started")
	}
	for _, want := range []string{"Corefile:3", "kubernetes", "rename the directive to clusterdns"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
