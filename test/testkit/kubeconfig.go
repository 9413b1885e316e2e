package testkit

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// Kubeconfig is what WriteKubeconfig writes: one API server, one bearer
// token, and contexts that all use them.
type Kubeconfig struct {
	// Server is the API server's URL.
	Server string
	// CA is the PEM of the CA that signed the server's certificate; it is
	// embedded, so the file stands alone. Without it the client does not
	// verify the server.
	CA []byte
	// Token is the bearer token.
	Token string
	// Contexts are the contexts' names; the first is the current one.
	// Default: "default".
	Contexts []string
}

// WriteKubeconfig writes k to path, readable by its owner only (it holds a
// token).
func WriteKubeconfig(path string, k Kubeconfig) error {
	contexts := k.Contexts
	if len(contexts) == 0 {
		contexts = []string{"default"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: cluster\n  cluster:\n    server: %q\n", k.Server)
	if k.CA != nil {
		fmt.Fprintf(&b, "    certificate-authority-data: %s\n", base64.StdEncoding.EncodeToString(k.CA))
	} else {
		b.WriteString("    insecure-skip-tls-verify: true\n")
	}
	fmt.Fprintf(&b, "users:\n- name: user\n  user:\n    token: %q\ncurrent-context: %q\ncontexts:\n", k.Token, contexts[0])
	for _, name := range contexts {
		fmt.Fprintf(&b, "- name: %q\n  context:\n    cluster: cluster\n    user: user\n", name)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
