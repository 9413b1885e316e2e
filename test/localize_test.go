package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// local is where a localized Corefile points: free loopback ports, a local
// upstream, and files in the test's temporary directory.
type local struct {
	DNS     int // the listen port of every server block
	Health  int
	Ready   int
	Metrics int
	// Upstream is the host:port forward sends to; empty makes a forward in
	// the Corefile an error.
	Upstream string
	// Manifest replaces the PATH of `source file PATH`.
	Manifest string
	// Kubeconfig replaces the file of `kubeconfig FILE [CONTEXT]`; it points
	// at APIServer.
	Kubeconfig string
	// APIServer is https://127.0.0.1:<closed port>: an API server that
	// refuses connections. It replaces the URL of `endpoint`.
	APIServer string
	// TLSCert, TLSKey and TLSCA replace the files of the clusterdns `tls`
	// option.
	TLSCert, TLSKey, TLSCA string
	// Snapshot replaces the FILE of `snapshot FILE [INTERVAL]`.
	Snapshot string
}

// newLocal allocates the ports and writes the files of a local: the demo
// manifest, an unreachable API server with its kubeconfig, TLS files.
func newLocal(t *testing.T) local {
	t.Helper()
	dir := t.TempDir()
	l := local{
		DNS:       freePort(t),
		Health:    freePort(t),
		Ready:     freePort(t),
		Metrics:   freePort(t),
		Manifest:  repoPath(t, "corefiles/demo-cluster.yaml"),
		APIServer: "https://" + loopback(freePort(t)), // nothing listens there
	}
	l.Kubeconfig = filepath.Join(dir, "kubeconfig")
	l.Snapshot = filepath.Join(dir, "snapshot")
	writeKubeconfig(t, l.Kubeconfig, l.APIServer)
	pki := newClientPKI(t)
	l.TLSCert, l.TLSKey, l.TLSCA = pki.cert, pki.key, pki.ca
	return l
}

// writeKubeconfig writes a kubeconfig for server with a dummy token whose
// current context is "test", plus the contexts named in extra.
func writeKubeconfig(t *testing.T, path, server string, extra ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: v1
kind: Config
clusters:
- name: unreachable
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: test
  user:
    token: dummy-token-for-tests
current-context: test
contexts:
`, server)
	for _, name := range append([]string{"test"}, extra...) {
		fmt.Fprintf(&b, "- name: %q\n  context:\n    cluster: unreachable\n    user: test\n", name)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// localize rewrites a shipped Corefile to run on loopback for a test (see
// localizeCorefile), and fails the test if it cannot, or if anything in it
// still points at a fixed port or the host's resolv.conf.
func localize(t *testing.T, corefile string, l local) string {
	t.Helper()
	out, err := localizeCorefile(corefile, l)
	if err != nil {
		t.Fatalf("localize: %v\nCorefile:\n%s", err, corefile)
	}
	// `kubeconfig FILE CONTEXT`: the kubeconfig gets the context.
	if contexts := kubeconfigContexts(out); len(contexts) > 0 {
		writeKubeconfig(t, l.Kubeconfig, l.APIServer, contexts...)
	}
	return out
}

// notLocal matches what a localized Corefile must not contain any more: the
// ports of the shipped and demo Corefiles and the host's resolvers.
var notLocal = regexp.MustCompile(`:(53|1053|8080|8181|9153)\b|/etc/resolv\.conf|/var/lib/`)

// localizeCorefile rewrites a Corefile to run on loopback:
//   - every server block listens on l.DNS (`.:53`, `:1053`, `zone:port`,
//     `dns://zone`) and is bound to 127.0.0.1 (`bind` lines are replaced,
//     blocks without one get one);
//   - health, ready and prometheus listen on 127.0.0.1 and l's ports, blocks
//     (`health { lameduck 5s }`) kept;
//   - forward sends to l.Upstream;
//   - in a clusterdns block, `source file`, `kubeconfig`, `endpoint`,
//     `tls` and `snapshot` point at l's files and its unreachable API
//     server.
//
// Comments and blank lines are dropped. It returns an error for a Corefile
// it cannot localize, and when a line still matches notLocal: a shipped file
// that grew something new must make the tests fail, not reach the network.
func localizeCorefile(corefile string, l local) (string, error) {
	var (
		out      []string
		stack    []string // the directive that opened each open block
		sawBind  bool
		origPort string // the listen port of the Corefile, before
	)
	for n, raw := range strings.Split(corefile, "\n") {
		code := stripComment(raw)
		fields := strings.Fields(code)
		if len(fields) == 0 {
			continue
		}
		indent := raw[:len(raw)-len(strings.TrimLeft(raw, " \t"))]
		line := strings.TrimRight(code, " \t")
		// suffix is the block a directive opens on its line, if any.
		suffix := ""
		if i := strings.Index(line, "{"); i >= 0 {
			suffix = " " + line[i:]
		}
		depth := len(stack)
		parent := ""
		if depth > 0 {
			parent = stack[depth-1]
		}
		switch {
		case depth == 0 && suffix != "" && !strings.HasPrefix(fields[0], "("):
			var keys []string
			for _, key := range fields {
				if strings.HasPrefix(key, "{") {
					break
				}
				zone, port := splitKey(key)
				if origPort == "" {
					origPort = port
				} else if port != origPort {
					return "", fmt.Errorf("line %d: server blocks listen on ports %s and %s; localize gives every block one port", n+1, origPort, port)
				}
				keys = append(keys, zone+":"+strconv.Itoa(l.DNS))
			}
			line = strings.Join(keys, " ") + suffix
			sawBind = false
		case depth == 1 && fields[0] != "}":
			switch fields[0] {
			case "bind":
				line, sawBind = indent+"bind 127.0.0.1", true
			case "health":
				line = indent + "health " + loopback(l.Health) + suffix
			case "ready":
				line = indent + "ready " + loopback(l.Ready) + suffix
			case "prometheus":
				line = indent + "prometheus " + loopback(l.Metrics) + suffix
			case "forward":
				if l.Upstream == "" {
					return "", fmt.Errorf("line %d: %q forwards, but the test gave no upstream", n+1, strings.TrimSpace(line))
				}
				if len(fields) < 3 {
					return "", fmt.Errorf("line %d: forward needs FROM and TO: %q", n+1, strings.TrimSpace(line))
				}
				line = indent + "forward " + fields[1] + " " + l.Upstream + suffix
			}
		case depth == 2 && parent == "clusterdns":
			switch fields[0] {
			case "source":
				if len(fields) == 3 && fields[1] == "file" {
					line = indent + "source file " + l.Manifest
				}
			case "kubeconfig":
				line = indent + "kubeconfig " + l.Kubeconfig
				if len(fields) > 2 {
					line += " " + strings.Join(fields[2:], " ")
				}
			case "endpoint":
				line = indent + "endpoint " + l.APIServer
			case "tls":
				line = indent + "tls " + l.TLSCert + " " + l.TLSKey + " " + l.TLSCA
			case "snapshot":
				if l.Snapshot == "" {
					return "", fmt.Errorf("line %d: %q saves a snapshot, but the test gave no file", n+1, strings.TrimSpace(line))
				}
				line = strings.TrimRight(indent+"snapshot "+l.Snapshot+" "+strings.Join(fields[2:], " "), " ")
			}
		}

		opens, closes := strings.Count(code, "{"), strings.Count(code, "}")
		for range opens - closes {
			stack = append(stack, fields[0])
		}
		if closes > opens {
			if closes-opens > len(stack) {
				return "", fmt.Errorf("line %d: unbalanced }", n+1)
			}
			closed := stack[len(stack)-(closes-opens):]
			stack = stack[:len(stack)-(closes-opens)]
			if len(stack) == 0 && !strings.HasPrefix(closed[0], "(") && !sawBind {
				out = append(out, "    bind 127.0.0.1")
				sawBind = true
			}
		}
		out = append(out, line)
	}
	if len(stack) != 0 {
		return "", fmt.Errorf("unclosed block %q", stack[len(stack)-1])
	}
	if origPort == "" {
		return "", fmt.Errorf("no server block")
	}
	for n, line := range out {
		if notLocal.MatchString(line) {
			return "", fmt.Errorf("localized line %d still points off the test's ports: %q", n+1, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n") + "\n", nil
}

// stripComment removes a # comment that is not inside a quoted string.
func stripComment(line string) string {
	quoted := false
	for i, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '#' && !quoted:
			return line[:i]
		}
	}
	return line
}

// splitKey splits a server block key into its zone, with its scheme, and
// its port (53 when none is given).
func splitKey(key string) (zone, port string) {
	scheme := ""
	if i := strings.Index(key, "://"); i >= 0 {
		scheme, key = key[:i+3], key[i+3:]
	}
	zone, port = key, "53"
	if i := strings.LastIndex(key, ":"); i >= 0 {
		zone, port = key[:i], key[i+1:]
	}
	if zone == "" {
		zone = "."
	}
	return scheme + zone, port
}

// listenPort returns the port of the first server block of a Corefile that
// gives one.
func listenPort(corefile string) (int, error) {
	depth := 0
	for _, raw := range strings.Split(corefile, "\n") {
		code := stripComment(raw)
		fields := strings.Fields(code)
		if depth == 0 && strings.Contains(code, "{") && len(fields) > 0 && !strings.HasPrefix(fields[0], "(") {
			for _, key := range fields {
				if strings.HasPrefix(key, "{") {
					break
				}
				if i := strings.LastIndex(key, ":"); i >= 0 && !strings.HasSuffix(key[:i+1], "://") {
					return strconv.Atoi(key[i+1:])
				}
			}
			return 0, fmt.Errorf("first server block %q has no port", strings.TrimSpace(code))
		}
		depth += strings.Count(code, "{") - strings.Count(code, "}")
	}
	return 0, fmt.Errorf("no server block")
}

// kubeconfigContexts returns the contexts named by `kubeconfig FILE CONTEXT`
// lines.
func kubeconfigContexts(corefile string) []string {
	var contexts []string
	for _, line := range strings.Split(corefile, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "kubeconfig" && !slices.Contains(contexts, f[2]) {
			contexts = append(contexts, f[2])
		}
	}
	return contexts
}

// TestLocalize checks the rewriting itself, and that it refuses what it
// cannot make local: the e2e tests rely on both.
func TestLocalize(t *testing.T) {
	l := local{
		DNS: 40001, Health: 40002, Ready: 40003, Metrics: 40004,
		Upstream:   "127.0.0.1:40005",
		Manifest:   "/tmp/e2e/cluster.yaml",
		Kubeconfig: "/tmp/e2e/kubeconfig",
		APIServer:  "https://127.0.0.1:40006",
		TLSCert:    "/tmp/e2e/c.crt", TLSKey: "/tmp/e2e/c.key", TLSCA: "/tmp/e2e/ca.crt",
		Snapshot: "/tmp/e2e/snapshot",
	}
	tests := []struct {
		name     string
		corefile string
		// noUpstream runs without an upstream for forward, noSnapshot
		// without a snapshot file.
		noUpstream, noSnapshot bool
		want                   string // the output, when no error is expected
		wantErr                string
	}{
		{
			name: "shipped cluster Corefile",
			corefile: `# comment on :53
.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
}
`,
			want: `.:40001 {
    errors
    health 127.0.0.1:40002 {
        lameduck 5s
    }
    ready 127.0.0.1:40003
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    prometheus 127.0.0.1:40004
    forward . 127.0.0.1:40005 {
        max_concurrent 1000
    }
    cache 30
    bind 127.0.0.1
}
`,
		},
		{
			name: "zone keys, bind, addresses, file source",
			corefile: `cluster.local:1053 in-addr.arpa:1053 dns://ip6.arpa:1053 {
    bind 127.0.0.1 ::1
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    prometheus 127.0.0.1:19153 # metrics
    clusterdns {
        source file corefiles/demo-cluster.yaml
    }
}
`,
			want: `cluster.local:40001 in-addr.arpa:40001 dns://ip6.arpa:40001 {
    bind 127.0.0.1
    health 127.0.0.1:40002
    ready 127.0.0.1:40003
    prometheus 127.0.0.1:40004
    clusterdns {
        source file /tmp/e2e/cluster.yaml
    }
}
`,
		},
		{
			name: "API options, implicit port, two blocks",
			corefile: `:53 {
    clusterdns cluster.local {
        kubeconfig /etc/clusterdns/kubeconfig prod
        endpoint https://10.0.0.1:6443 https://10.0.0.2:6443
        tls /etc/k8s/cert /etc/k8s/key /etc/k8s/ca
        snapshot /var/lib/clusterdns/snapshot 30s
    }
}
example.org {
    whoami
}
`,
			want: `.:40001 {
    clusterdns cluster.local {
        kubeconfig /tmp/e2e/kubeconfig prod
        endpoint https://127.0.0.1:40006
        tls /tmp/e2e/c.crt /tmp/e2e/c.key /tmp/e2e/ca.crt
        snapshot /tmp/e2e/snapshot 30s
    }
    bind 127.0.0.1
}
example.org:40001 {
    whoami
    bind 127.0.0.1
}
`,
		},
		{
			name:     "a port it does not know stays and fails",
			corefile: ".:53 {\n    transfer {\n        to 10.0.0.1:53\n    }\n}\n",
			wantErr:  "to 10.0.0.1:53",
		},
		{
			name:     "resolv.conf outside forward fails",
			corefile: ".:53 {\n    hosts /etc/resolv.conf\n}\n",
			wantErr:  "/etc/resolv.conf",
		},
		{
			name:       "forward without an upstream fails",
			corefile:   ".:53 {\n    forward . 8.8.8.8\n}\n",
			noUpstream: true,
			wantErr:    "no upstream",
		},
		{
			name:     "two listen ports fail",
			corefile: ".:53 {\n    whoami\n}\n.:5353 {\n    whoami\n}\n",
			wantErr:  "ports 53 and 5353",
		},
		{
			name:       "snapshot without a file fails",
			corefile:   ".:53 {\n    clusterdns {\n        snapshot /var/lib/clusterdns/snapshot\n    }\n}\n",
			noSnapshot: true,
			wantErr:    "gave no file",
		},
		{
			name:     "no server block fails",
			corefile: "# nothing\n",
			wantErr:  "no server block",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lc := l
			if tc.noUpstream {
				lc.Upstream = ""
			}
			if tc.noSnapshot {
				lc.Snapshot = ""
			}
			got, err := localizeCorefile(tc.corefile, lc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q; output:\n%s", err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			port, err := listenPort(got)
			if err != nil || port != l.DNS {
				t.Fatalf("listenPort = %d, %v; want %d", port, err, l.DNS)
			}
		})
	}
}
