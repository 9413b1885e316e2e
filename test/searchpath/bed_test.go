package searchpath

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/testbin"
	"github.com/clusterdns/clusterdns/test/testkit"
)

const (
	// commandTimeout bounds one client run: glibc waits 5 s for a lost
	// answer and tries twice.
	commandTimeout = 30 * time.Second
	// upstreamPort is Knot's port on the namespace's loopback: the
	// namespace is new and ours, so nothing else can hold it.
	upstreamPort = 5300
)

// tools are the programs the tests run, with the Debian package of each.
var tools = []struct{ name, pkg string }{
	{"unshare", "util-linux"},
	{"nsenter", "util-linux"},
	{"mount", "mount"},
	{"ip", "iproute2"},
	{"getent", "libc-bin"},
	{"dig", "bind9-dnsutils"},
	{"nslookup", "bind9-dnsutils"},
	{"knotd", "knot"},
}

// podResolvConf is what the kubelet writes for a pod of namespace prod with
// dnsPolicy ClusterFirst, on a node whose resolv.conf is nodeResolvConf.
const podResolvConf = `search prod.svc.cluster.local svc.cluster.local cluster.local example.internal
nameserver 127.0.0.1
options ndots:5
`

// nodeResolvConf is the node's: the server's own, where search_path reads
// the node's search domains.
const nodeResolvConf = `search example.internal
nameserver 127.0.0.1
`

// The upstream's zones: the root (so that names under no other zone are
// NXDOMAIN, as a recursive resolver answers them), example.org for
// external names and example.internal, the node's search domain.
const (
	rootZone = `. 300 IN SOA localhost. hostmaster.example.org. 1 7200 1800 86400 300
. 300 IN NS localhost.
localhost. 300 IN A 127.0.0.1
`
	exampleOrgZone = `$ORIGIN example.org.
@       300 IN SOA ns hostmaster 1 7200 1800 86400 300
@       300 IN NS  ns
ns      300 IN A   127.0.0.1
www     300 IN A    192.0.2.80
www     300 IN AAAA 2001:db8::80
v4only  300 IN A    192.0.2.4
txt     300 IN TXT  "a name without addresses"
_http._tcp 300 IN SRV 0 100 80 www.example.org.
`
	exampleInternalZone = `$ORIGIN example.internal.
@       300 IN SOA ns.example.org. hostmaster.example.org. 1 7200 1800 86400 300
@       300 IN NS  ns.example.org.
host1   300 IN A   192.0.2.10
web     300 IN A   192.0.2.99
`
)

const knotConf = `server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
database:
    storage: "%[1]s/db"
control:
    listen: "%[1]s/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "%[1]s"
zone:
  - domain: .
    file: root.zone
  - domain: example.org
    file: example.org.zone
  - domain: example.internal
    file: example.internal.zone
`

// corefile serves the test cluster on the namespace's 127.0.0.1:53 and
// forwards the rest to Knot. The log plugin prints one line per query that
// went through the server: the client's own, and the lookups of a
// server-side walk, which carry the name the client asked in the
// clusterdns/lookup-for metadata ("-" on the client's).
const corefile = `.:53 {
    bind 127.0.0.1
    errors
    metadata
    log . "Q {type} {name} {rcode} {/clusterdns/lookup-for}"
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        source file %[1]s
        pods insecure
        ttl 30
%[2]s
    }
    cache 30
    forward . 127.0.0.1:%[3]d
}
`

// bed is a network and mount namespace with an upstream DNS server: the
// pod the tests resolve from.
type bed struct {
	dir    string
	holder *testkit.Process // keeps the namespaces alive until its stdin closes
	stdin  io.WriteCloser   // the holder's, held open: EOF would end it
}

// newBed creates the namespaces, writes the files and starts Knot. Both
// end with the test.
func newBed(t *testing.T) *bed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the search path tests need root: they create network and mount namespaces")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Fatalf("%s not found: install the Debian package %s", tool.name, tool.pkg)
		}
	}
	b := &bed{dir: t.TempDir()}
	b.write(t, "pod-resolv.conf", podResolvConf)
	b.write(t, "node-resolv.conf", nodeResolvConf)
	b.write(t, "nsswitch.conf", "hosts: files dns\n")
	b.write(t, "hosts", "127.0.0.1 localhost\n")
	b.write(t, "root.zone", rootZone)
	b.write(t, "example.org.zone", exampleOrgZone)
	b.write(t, "example.internal.zone", exampleInternalZone)
	b.write(t, "knot.conf", fmt.Sprintf(knotConf, b.dir, upstreamPort))
	if err := os.Mkdir(filepath.Join(b.dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}

	// The holder brings up loopback, puts the pod's files over the host's
	// in its private mount namespace, says so, and waits for EOF.
	script := `set -e
ip link set lo up
mount --bind "$1/pod-resolv.conf" /etc/resolv.conf
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$1/hosts" /etc/hosts
echo ready
exec cat >/dev/null`
	holder := exec.Command("unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", b.dir)
	var err error
	if b.stdin, err = holder.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if b.holder, err = testkit.Start("namespace holder", holder); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, b.holder) })
	waitFor(t, b.holder, func() bool { return strings.Contains(b.holder.Log().String(), "ready\n") })

	knot := b.start(t, "knotd", "-c", filepath.Join(b.dir, "knot.conf"))
	waitFor(t, knot, func() bool {
		out, _ := b.run(t, "dig", "@127.0.0.1", "-p", fmt.Sprint(upstreamPort), "+tries=1", "+time=1", "SOA", "example.org.")
		return strings.Contains(out, "status: NOERROR")
	})
	return b
}

func (b *bed) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// command returns a command that runs inside the namespaces.
func (b *bed) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"--target", fmt.Sprint(b.holder.Pid()), "--net", "--mount", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// run runs a command inside the namespaces and returns its output (stdout
// then stderr) and exit code; it fails the test if the command cannot run
// or overruns commandTimeout.
func (b *bed) run(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := b.command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no result within %s", name, strings.Join(args, " "), commandTimeout)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return stdout.String() + stderr.String(), cmd.ProcessState.ExitCode()
}

// start starts a long-running program inside the namespaces; it is stopped
// when the test ends, and its output printed if the test failed.
func (b *bed) start(t *testing.T, name string, args ...string) *testkit.Process {
	t.Helper()
	p, err := testkit.Start(name, b.command(context.Background(), name, args...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, p) })
	return p
}

// stop ends a process of the bed and prints its output if the test failed.
func stop(t *testing.T, p *testkit.Process) {
	if err := p.Stop(); err != nil {
		t.Log(err)
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", p.Name, p.Log())
	}
}

// waitFor polls ready until it holds, failing the test if p exits or the
// deadline passes first.
func waitFor(t *testing.T, p *testkit.Process, ready func() bool) {
	t.Helper()
	if err := p.Await(testkit.StartTimeout, testkit.PollInterval, ready); err != nil {
		t.Fatalf("%v\n%s", err, p.Log())
	}
}

// server is clusterdns running in the bed on 127.0.0.1:53.
type server struct {
	*testkit.Process
	bed     *bed
	markers int
}

// startServer starts clusterdns on the test cluster, with searchPath (the
// search_path option, or "") in its clusterdns block, and waits until it
// answers from the cluster.
func (b *bed) startServer(t *testing.T, searchPath string) *server {
	t.Helper()
	manifest, err := filepath.Abs(filepath.Join("testdata", "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(corefile, manifest, searchPath, upstreamPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{Process: b.start(t, testbin.Clusterdns(t), "-conf", path), bed: b}
	waitFor(t, s.Process, func() bool {
		out, _ := b.run(t, "dig", "@127.0.0.1", "+tries=1", "+time=1", "TXT", "dns-version.cluster.local.")
		return strings.Contains(out, "status: NOERROR") && strings.Contains(out, `"1.1.0"`)
	})
	return s
}

// query is a line of the server's log: a query it answered.
type query struct {
	Type, Name, Rcode string
	// For is the name the client asked when the server asked this
	// itself (to walk a search path, or for the target of an
	// ExternalName), "" for the client's own queries.
	For string
}

func (q query) String() string {
	s := q.Type + " " + q.Name + " " + q.Rcode
	if q.For != "" {
		s += " (for " + q.For + ")"
	}
	return s
}

var queryLine = regexp.MustCompile(`\[INFO\] Q (\S+) (\S+) (\S+) (\S+)`)

// queries returns the queries in the server's log from byte offset from.
func (s *server) queries(from int) []query {
	var out []query
	for _, m := range queryLine.FindAllStringSubmatch(s.Log().Since(from), -1) {
		q := query{Type: m[1], Name: m[2], Rcode: m[3]}
		if m[4] != "-" {
			q.For = m[4]
		}
		out = append(out, q)
	}
	return out
}

// observe runs fn, a lookup, and returns the queries the server answered
// for it. The log plugin writes a line after the answer is sent, so a
// marker query after the lookup fences its lines.
func (s *server) observe(t *testing.T, fn func()) []query {
	t.Helper()
	from := s.Log().Len()
	fn()
	s.markers++
	marker := fmt.Sprintf("marker-%d.dns.cluster.local.", s.markers)
	s.bed.run(t, "dig", "@127.0.0.1", "+tries=1", "+time=2", "TXT", marker)
	deadline := time.Now().Add(testkit.StartTimeout)
	for {
		qs := s.queries(from)
		for i, q := range qs {
			if q.Name == marker {
				return qs[:i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the marker %s is not in the server's log after %s", marker, testkit.StartTimeout)
		}
		time.Sleep(testkit.PollInterval)
	}
}

func TestMain(m *testing.M) { testkit.Main(m) }
