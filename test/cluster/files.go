package cluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// binaries are what `make testbed` builds into test/bin.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// kwokStagesDir is the directory under the bin dir holding the Stage
// manifests that testbed.mk copies from the pinned kwok module.
const kwokStagesDir = "kwok-stages"

// checkBinaries reports every missing binary or stage directory at once, with
// the command that builds them.
func checkBinaries(dir string) error {
	var missing []string
	for _, name := range append(binaries, kwokStagesDir) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("test bed incomplete in %s: missing %s; run `make testbed` in the repository root (or set %s)",
		dir, strings.Join(missing, ", "), testkit.EnvTestBin)
}

// kwokStages lists the Stage manifests to hand kwok as --config files.
func kwokStages(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, kwokStagesDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no kwok Stage manifests in %s; run `make testbed`", filepath.Join(dir, kwokStagesDir))
	}
	return files, nil
}

// caCertificates keeps the CA certificates of the PEM bundle that
// kube-apiserver writes into its cert dir (serving certificate, then the
// self-signed CA that signed it). Clients need only the CA, and the
// controller-manager publishes its root CA as a ClusterTrustBundle, which
// refuses a certificate without the CA bit.
func caCertificates(bundle []byte) ([]byte, error) {
	var out []byte
	for rest := bundle; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if cert.IsCA {
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
	if out == nil {
		return nil, errors.New("no CA certificate in the API server's certificate file (yet)")
	}
	return out, nil
}

// randomToken is a bearer token for the static token file.
func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeTokenFile writes kube-apiserver's --token-auth-file: one admin user in
// system:masters, which RBAC lets do anything (the bootstrap policy binds
// cluster-admin to that group). Format: token,user,uid,"group,...".
func writeTokenFile(path, token string) error {
	return os.WriteFile(path, []byte(fmt.Sprintf("%s,testbed-admin,testbed-admin,\"system:masters\"\n", token)), 0o600)
}

// writeServiceAccountKey writes the RSA key pair that signs (private, for the
// API server's TokenRequest and the controller-manager's token controller) and
// verifies (public) ServiceAccount tokens.
func writeServiceAccountKey(privPath, pubPath string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	return errors.Join(os.WriteFile(privPath, priv, 0o600), os.WriteFile(pubPath, pub, 0o644))
}

// writeKubeconfig writes a kubeconfig for server with a bearer token. The CA
// is embedded, so the file stands alone (it can be handed to clusterdns or
// copied out of the temp dir).
func writeKubeconfig(path, server string, caPEM []byte, token string) error {
	return testkit.WriteKubeconfig(path, testkit.Kubeconfig{Server: server, CA: caPEM, Token: token, Contexts: []string{"testbed"}})
}

// writeSchedulerConfig writes kube-scheduler's configuration file. The
// scheduler ignores its deprecated --kubeconfig/--leader-elect flags once
// --config is given, so everything goes here.
func writeSchedulerConfig(path, kubeconfig string) error {
	const tmpl = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  # The default 50 QPS would make scheduling thousands of pods (scale tests)
  # take minutes; the test bed has one client per component.
  qps: 500
  burst: 1000
leaderElection:
  # One scheduler: electing a leader costs a lease round trip and, after an
  # API server restart, up to a lease duration of not scheduling.
  leaderElect: false
`
	return os.WriteFile(path, []byte(fmt.Sprintf(tmpl, kubeconfig)), 0o644)
}
