package testkit

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Local is where a localized Corefile points: loopback ports, a local
// upstream, and files in the test's temporary directory.
type Local struct {
	DNS     int // the listen port of every server block
	Health  int
	Ready   int
	Metrics int
	// Explain is the port of a cluster block's explain endpoint.
	Explain int
	// Upstream is the host:port forward sends to; empty makes a forward in
	// the Corefile an error.
	Upstream string
	// Manifest replaces the PATH of `source file PATH`.
	Manifest string
	// Kubeconfig replaces the file of `kubeconfig FILE [CONTEXT]`.
	Kubeconfig string
	// AddKubeconfig gives a cluster block (clusterdns or kubernetes)
	// without a kubeconfig line one for Kubeconfig: what a default
	// Corefile, written for in-cluster credentials, needs to reach a test
	// bed's API server.
	AddKubeconfig bool
	// APIServer replaces the URL of `endpoint`.
	APIServer string
	// TLSCert, TLSKey and TLSCA replace the files of the `tls` option of a
	// cluster block.
	TLSCert, TLSKey, TLSCA string
	// Snapshot replaces the FILE of `snapshot FILE [INTERVAL]`; empty makes
	// a snapshot in the Corefile an error.
	Snapshot string
}

// notLocal matches what a localized Corefile must not contain any more: the
// ports of the shipped and demo Corefiles and the host's resolvers.
var notLocal = regexp.MustCompile(`:(53|1053|8080|8181|9153|9154)\b|/etc/resolv\.conf|/var/lib/`)

// isClusterPlugin says whether a directive is ours or stock's cluster
// plugin, whose options Localize rewrites.
func isClusterPlugin(directive string) bool {
	return directive == "clusterdns" || directive == "kubernetes"
}

// Localize rewrites a Corefile to run on loopback:
//   - every server block listens on l.DNS (`.:53`, `:1053`, `zone:port`,
//     `dns://zone`) and is bound to 127.0.0.1 (`bind` lines are replaced,
//     blocks without one get one);
//   - health, ready and prometheus listen on 127.0.0.1 and l's ports, blocks
//     (`health { lameduck 5s }`) kept;
//   - forward sends to l.Upstream;
//   - in a cluster block, `source file`, `kubeconfig`, `endpoint`, `tls`
//     and `snapshot` point at l's files and API server, and `explain`
//     listens on 127.0.0.1 and l's port (and a kubeconfig
//     line is added with l.AddKubeconfig).
//
// Comments and blank lines are dropped. It returns an error for a Corefile
// it cannot localize, and when a line still matches notLocal: a shipped file
// that grew something new must make the tests fail, not reach the network.
func Localize(corefile string, l Local) (string, error) {
	var (
		out           []string
		stack         []string // the directive that opened each open block
		sawBind       bool
		sawKubeconfig bool   // in the open cluster block
		origPort      string // the listen port of the Corefile, before
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
				line = indent + "health " + Loopback(l.Health) + suffix
			case "ready":
				line = indent + "ready " + Loopback(l.Ready) + suffix
			case "prometheus":
				line = indent + "prometheus " + Loopback(l.Metrics) + suffix
			case "forward":
				if l.Upstream == "" {
					return "", fmt.Errorf("line %d: %q forwards, but the test gave no upstream", n+1, strings.TrimSpace(line))
				}
				if len(fields) < 3 {
					return "", fmt.Errorf("line %d: forward needs FROM and TO: %q", n+1, strings.TrimSpace(line))
				}
				line = indent + "forward " + fields[1] + " " + l.Upstream + suffix
			case "clusterdns", "kubernetes":
				if l.AddKubeconfig && suffix == "" {
					return "", fmt.Errorf("line %d: %q has no block to add a kubeconfig to", n+1, strings.TrimSpace(line))
				}
				sawKubeconfig = false
			}
		case depth == 2 && isClusterPlugin(parent):
			switch fields[0] {
			case "source":
				if len(fields) == 3 && fields[1] == "file" {
					line = indent + "source file " + l.Manifest
				}
			case "kubeconfig":
				line, sawKubeconfig = indent+"kubeconfig "+l.Kubeconfig, true
				if len(fields) > 2 {
					line += " " + strings.Join(fields[2:], " ")
				}
			case "endpoint":
				line = indent + "endpoint " + l.APIServer
			case "explain":
				if l.Explain == 0 {
					return "", fmt.Errorf("line %d: %q serves explain, but the test gave no port", n+1, strings.TrimSpace(line))
				}
				line = indent + "explain " + Loopback(l.Explain) + suffix
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
			switch {
			case len(stack) == 0 && !strings.HasPrefix(closed[0], "(") && !sawBind:
				out = append(out, "    bind 127.0.0.1")
				sawBind = true
			case len(stack) == 1 && isClusterPlugin(closed[0]) && l.AddKubeconfig && !sawKubeconfig:
				out = append(out, indent+"    kubeconfig "+l.Kubeconfig)
				sawKubeconfig = true
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

// ListenPort returns the port of the first server block of a Corefile that
// gives one.
func ListenPort(corefile string) (int, error) {
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

// KubeconfigContexts returns the contexts named by `kubeconfig FILE
// CONTEXT` lines, for a kubeconfig that must have them.
func KubeconfigContexts(corefile string) []string {
	var contexts []string
	for _, line := range strings.Split(corefile, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "kubeconfig" && !slices.Contains(contexts, f[2]) {
			contexts = append(contexts, f[2])
		}
	}
	return contexts
}
