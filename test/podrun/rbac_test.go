package podrun

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clusterdns/clusterdns/test/manifests"

	rbacv1 "k8s.io/api/rbac/v1"
)

// grant is what one role may hold on one resource: these verbs, and only
// on the named objects when names is set.
type grant struct {
	group, resource string
	verbs           []string
	names           []string
}

// allowedRBAC is every Role and ClusterRole deploy/ may ship, with what
// each may grant: what the program behind it uses, no more. A new role, or
// a broader rule, needs a row here and a reason.
var allowedRBAC = map[string][]grant{
	// clusterdns's informers (the API source): list and watch.
	"system:clusterdns": {
		{group: "", resource: "services", verbs: []string{"list", "watch"}},
		{group: "", resource: "namespaces", verbs: []string{"list", "watch"}},
		{group: "discovery.k8s.io", resource: "endpointslices", verbs: []string{"list", "watch"}},
	},
	// `pods verified` (deploy/overlays/pods-verified).
	"system:clusterdns-pods": {
		{group: "", resource: "pods", verbs: []string{"list", "watch"}},
	},
	// `multicluster` (deploy/overlays/multicluster): the ServiceImports of
	// the clusterset.
	"system:clusterdns-multicluster": {
		{group: "multicluster.x-k8s.io", resource: "serviceimports", verbs: []string{"list", "watch"}},
	},
	// cluster-proportional-autoscaler counts nodes and cores...
	"system:clusterdns-autoscaler": {
		{group: "", resource: "nodes", verbs: []string{"list", "watch"}},
	},
	// ...reads its parameters from its own ConfigMap (the overlay
	// generates it, so the autoscaler never creates it) and sets the
	// clusterdns Deployment's scale.
	"clusterdns-autoscaler": {
		{group: "", resource: "configmaps", verbs: []string{"get"}, names: []string{"clusterdns-autoscaler"}},
		{group: "apps", resource: "deployments/scale", verbs: []string{"get", "update"}, names: []string{"clusterdns"}},
	},
}

// rbacErrors lists what a role's rules grant beyond allowedRBAC.
func rbacErrors(roleName string, rules []rbacv1.PolicyRule) []string {
	allowed, ok := allowedRBAC[roleName]
	if !ok {
		return []string{fmt.Sprintf("role %s is not in the allowed list", roleName)}
	}
	var errs []string
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			errs = append(errs, fmt.Sprintf("role %s: non-resource URLs %v", roleName, r.NonResourceURLs))
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				i := slices.IndexFunc(allowed, func(a grant) bool { return a.group == g && a.resource == res })
				if i < 0 {
					errs = append(errs, fmt.Sprintf("role %s: %q/%s not allowed", roleName, g, res))
					continue
				}
				a := allowed[i]
				for _, v := range r.Verbs {
					if !slices.Contains(a.verbs, v) {
						errs = append(errs, fmt.Sprintf("role %s: %s on %q/%s not allowed (only %v)", roleName, v, g, res, a.verbs))
					}
				}
				if a.names == nil {
					continue
				}
				if len(r.ResourceNames) == 0 {
					errs = append(errs, fmt.Sprintf("role %s: %q/%s on every object, allowed only on %v", roleName, g, res, a.names))
				}
				for _, n := range r.ResourceNames {
					if !slices.Contains(a.names, n) {
						errs = append(errs, fmt.Sprintf("role %s: %q/%s %s not allowed (only %v)", roleName, g, res, n, a.names))
					}
				}
			}
		}
	}
	return errs
}

// TestRBACLeastPrivilege holds every ClusterRole and Role of every
// kustomization to allowedRBAC.
func TestRBACLeastPrivilege(t *testing.T) {
	for _, dir := range kustomizations(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			roles := 0
			for _, o := range manifests.Render(t, dir) {
				if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
					continue
				}
				roles++
				var role rbacv1.ClusterRole // a Role's rules read the same
				typed(t, o, &role)
				for _, e := range rbacErrors(role.Name, role.Rules) {
					t.Error(e)
				}
			}
			if roles == 0 {
				t.Error("no roles: clusterdns needs its ClusterRole")
			}
		})
	}
}

// TestRBACLeastPrivilegeRefuses: the check refuses what the issue found
// (the autoscaler's ConfigMap access not limited by name, and create) and
// wildcards.
func TestRBACLeastPrivilegeRefuses(t *testing.T) {
	for _, tc := range []struct {
		role  string
		rules []rbacv1.PolicyRule
	}{
		{"clusterdns-autoscaler", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create"}}}},
		{"clusterdns-autoscaler", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}, ResourceNames: []string{"other"}}}},
		{"system:clusterdns", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"*"}}}},
		{"system:clusterdns", []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"list"}}}},
		{"system:clusterdns", []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}},
		{"system:clusterdns", []rbacv1.PolicyRule{{APIGroups: []string{"multicluster.x-k8s.io"}, Resources: []string{"serviceimports"}, Verbs: []string{"list"}}}},
		{"system:clusterdns-multicluster", []rbacv1.PolicyRule{{APIGroups: []string{"multicluster.x-k8s.io"}, Resources: []string{"serviceexports"}, Verbs: []string{"list"}}}},
		{"system:other", nil},
	} {
		if errs := rbacErrors(tc.role, tc.rules); len(errs) == 0 {
			t.Errorf("role %s %+v: allowed", tc.role, tc.rules)
		}
	}
}
