// Package snapshot saves the objects of a live index to a file, and reads
// them back: the last-known-good view clusterdns serves at start while the
// Kubernetes API is out of reach, instead of SERVFAIL.
//
// The file holds the slim objects themselves (package object, whose json
// tags are the schema), one per line, framed so that a file that is not a
// whole snapshot of this format and source is refused rather than served:
//
//	clusterdns-snapshot 1 {"written":"2026-11-26T04:00:00Z","source":"https://10.96.0.1:443 ...","objects":3}
//	Namespace	{"name":"default"}
//	Service	{"name":"kubernetes","namespace":"default","type":1,"clusterIPs":["10.96.0.1"],...}
//	...
//	end sha256:<hex of every byte before this line>
//
// Lines of JSON, not the manifests format of the file source: the slim
// objects decode about ten times faster than API objects through their
// converters (10k Services of YAML manifests take seconds), and need no
// conversion back to API types to be written. They stay readable with
// grep and jq.
package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

// Version is the format version this build writes. Bump it with any
// change to the framing or to the objects' json tags.
const Version = 6

// oldestVersion is the oldest format this build reads: versions 2 to 5
// only added fields (a Service's externalIPs and externalHostnames; an
// endpoint's zone; a Namespace's visibleTo; an EndpointSlice's
// multi-cluster service and source cluster) and a kind (ServiceImport),
// which older files lack, so a snapshot written before an upgrade still
// serves after it. Version 6 dropped a field: an endpoint's nodeName,
// which DNS never read; older files' are ignored.
const oldestVersion = 1

// magic starts every snapshot file, followed by a space and the version.
const magic = "clusterdns-snapshot"

// trailer starts the last line.
const trailer = "end sha256:"

// Header is what the first line says about a snapshot.
type Header struct {
	// Written is when the snapshot was written.
	Written time.Time `json:"written"`
	// Source identifies what the objects were read from (the API server and
	// the watch's selectors): a snapshot of another source is refused.
	Source string `json:"source"`
	// Objects is the number of object lines.
	Objects int `json:"objects"`
}

// Encode writes a snapshot of the n changes (additions) in changes to w.
// They are a sequence, not a slice, so that the index can make its pods
// one at a time while they are written (index.Index.Objects).
func Encode(w io.Writer, h Header, n int, changes iter.Seq[index.Change]) error {
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, sum), 64<<10)
	h.Objects = n
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "%s %d %s\n", magic, Version, head)
	enc := json.NewEncoder(bw) // Encode ends each object with a newline
	written := 0
	for c := range changes {
		written++
		switch c.Kind {
		case object.KindService, object.KindEndpointSlice, object.KindPod, object.KindNamespace, object.KindServiceImport:
		default:
			return fmt.Errorf("snapshot: cannot save a %s", c.Kind)
		}
		kind := c.Kind.String()
		bw.WriteString(kind)
		bw.WriteByte('\t')
		if err := enc.Encode(c.Object); err != nil {
			return fmt.Errorf("snapshot: %s %s/%s: %w", kind, c.Namespace, c.Name, err)
		}
	}
	if written != n {
		// Decode would refuse the file as corrupt: fail the write, and
		// Write keeps the previous snapshot.
		return fmt.Errorf("snapshot: %d objects written, %d announced", written, n)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", trailer, hex.EncodeToString(sum.Sum(nil)))
	return err
}

// Errors Decode returns, wrapped with detail. Each means the file is not a
// snapshot this server may serve.
var (
	ErrForeign   = errors.New("not a clusterdns snapshot")
	ErrVersion   = errors.New("snapshot format version not supported")
	ErrTruncated = errors.New("snapshot truncated")
	ErrCorrupt   = errors.New("snapshot corrupt")
)

// Decode reads a snapshot written by Encode and returns its header and its
// objects as additions. The checksum is checked before any object is
// decoded.
func Decode(data []byte) (Header, []index.Change, error) {
	var h Header
	prefix := magic + " "
	if !bytes.HasPrefix(data, []byte(prefix)) {
		return h, nil, fmt.Errorf("%w (it does not start with %q)", ErrForeign, magic)
	}
	first, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return h, nil, fmt.Errorf("%w: no end of the first line", ErrTruncated)
	}
	version, head, _ := bytes.Cut(first[len(prefix):], []byte(" "))
	if v, err := strconv.Atoi(string(version)); err != nil || v < oldestVersion || v > Version {
		return h, nil, fmt.Errorf("%w: file has version %q, this build reads %d to %d", ErrVersion, version, oldestVersion, Version)
	}

	// The last line is the trailer; everything before it is summed.
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return h, nil, fmt.Errorf("%w: it does not end with a whole line", ErrTruncated)
	}
	i := bytes.LastIndexByte(body[:len(body)-1], '\n') + 1 // start of the last line
	last := body[i : len(body)-1]
	if !bytes.HasPrefix(last, []byte(trailer)) {
		return h, nil, fmt.Errorf("%w: no %q line at the end", ErrTruncated, trailer)
	}
	want, err := hex.DecodeString(string(last[len(trailer):]))
	if err != nil || len(want) != sha256.Size {
		return h, nil, fmt.Errorf("%w: bad checksum line %q", ErrCorrupt, last)
	}
	if got := sha256.Sum256(data[:len(first)+1+i]); !bytes.Equal(got[:], want) {
		return h, nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}

	if err := json.Unmarshal(head, &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	lines := body[:i]
	// The header's count sizes the result only once it matches the lines.
	if n := bytes.Count(lines, []byte("\n")); n != h.Objects {
		return h, nil, fmt.Errorf("%w: %d objects, header says %d", ErrCorrupt, n, h.Objects)
	}
	changes, err := decodeLines(lines, h.Objects)
	if err != nil {
		return h, nil, err
	}
	return h, changes, nil
}

// decodeLines decodes n object lines on every CPU: JSON decoding is most
// of a start from a snapshot (150k pods: 0.66 s on one core), and the
// server is not answering yet.
func decodeLines(lines []byte, n int) ([]index.Change, error) {
	changes := make([]index.Change, n)
	workers := min(runtime.GOMAXPROCS(0), max(n/1000, 1))
	per := (n + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w, first := 0, 0; first < n; w, first = w+1, first+per {
		// This worker's lines: the next per of them.
		chunk := lines
		for range min(per, n-first) {
			i := bytes.IndexByte(lines, '\n')
			lines = lines[i+1:]
		}
		chunk = chunk[:len(chunk)-len(lines)]
		wg.Go(func() {
			for i := first; len(chunk) > 0; i++ {
				var line []byte
				line, chunk, _ = bytes.Cut(chunk, []byte("\n"))
				c, err := decodeLine(line)
				if err != nil {
					errs[w] = fmt.Errorf("%w: line %d: %v", ErrCorrupt, i+2, err)
					return
				}
				changes[i] = c
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return changes, nil
}

func decodeLine(line []byte) (index.Change, error) {
	kind, text, ok := bytes.Cut(line, []byte("\t"))
	if !ok {
		return index.Change{}, errors.New("no tab after the kind")
	}
	obj, ok := newObject(string(kind))
	if !ok {
		return index.Change{}, fmt.Errorf("unknown kind %q", kind)
	}
	if err := json.Unmarshal(text, obj.ptr); err != nil {
		return index.Change{}, fmt.Errorf("%s: %v", kind, err)
	}
	meta := object.MetaOf(obj.ptr)
	if meta.Name == "" || (obj.kind != object.KindNamespace) != (meta.Namespace != "") {
		return index.Change{}, fmt.Errorf("%s %q in namespace %q: a name, and a namespace for all but Namespaces, are required", kind, meta.Name, meta.Namespace)
	}
	if err := validate(obj.ptr); err != nil {
		return index.Change{}, fmt.Errorf("%s %s/%s: %v", kind, meta.Namespace, meta.Name, err)
	}
	return index.Change{Kind: obj.kind, Namespace: meta.Namespace, Name: meta.Name, Object: obj.ptr}, nil
}

// validate refuses what the converters never produce and the index
// assumes: addresses left empty, a service type out of range.
func validate(o any) error {
	var addrs [][]netip.Addr
	switch o := o.(type) {
	case *object.Service:
		if o.Type < object.ClusterIP || o.Type > object.ExternalName {
			return fmt.Errorf("service type %d", o.Type)
		}
		addrs = append(addrs, o.ClusterIPs())
	case *object.EndpointSlice:
		for _, e := range o.Endpoints {
			addrs = append(addrs, e.Addresses)
		}
	case *object.Pod:
		addrs = append(addrs, o.IPs)
	}
	for _, list := range addrs {
		for _, a := range list {
			if !a.IsValid() {
				return errors.New("empty address")
			}
		}
	}
	return nil
}

// typed is a freshly allocated object of one kind, to decode into.
type typed struct {
	kind object.Kind
	ptr  any // *object.Service, ...
}

func newObject(kind string) (typed, bool) {
	switch kind {
	case "Service":
		return typed{object.KindService, new(object.Service)}, true
	case "EndpointSlice":
		return typed{object.KindEndpointSlice, new(object.EndpointSlice)}, true
	case "Pod":
		return typed{object.KindPod, new(object.Pod)}, true
	case "Namespace":
		return typed{object.KindNamespace, new(object.Namespace)}, true
	case "ServiceImport":
		return typed{object.KindServiceImport, new(object.ServiceImport)}, true
	}
	return typed{}, false
}

// Read reads and decodes the snapshot at path, and refuses one of another
// source than want.
func Read(path, want string) (Header, []index.Change, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Header{}, nil, err
	}
	h, changes, err := Decode(data)
	if err != nil {
		return h, nil, err
	}
	if h.Source != want {
		return h, nil, fmt.Errorf("%w: written for source %q, this server's is %q", ErrForeign, h.Source, want)
	}
	return h, changes, nil
}

// tempPattern names Write's temporary files beside path.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".*" }

// RemoveStale removes temporary files of writes to path older than age:
// left behind by a process killed while writing. Younger ones may belong
// to a write in progress (another instance during a Corefile reload).
func RemoveStale(path string, age time.Duration) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > age {
			os.Remove(m)
		}
	}
}

// Write saves a snapshot to path atomically: it is written to a temporary
// file beside path, synced, and renamed over path, so that a crash or a
// full disk leaves the previous snapshot whole.
func Write(path string, h Header, n int, changes iter.Seq[index.Change]) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := Encode(f, h, n, changes); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
