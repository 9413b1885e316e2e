// Package file is the clusterdns source that reads the cluster from a file of
// Kubernetes manifests, as `kubectl get svc,endpointslices,pods,ns -A -o yaml`
// prints them, instead of from the Kubernetes API. It serves tests, demos and
// clusters whose DNS view is written by something else.
//
// The file is loaded once at start (an error then stops the server with the
// reason) and reloaded whenever it changes. A reload replaces the whole index;
// a reload that fails leaves the last good state serving.
package file

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"
)

var log = clog.NewWithPlugin("clusterdns")

// DefaultInterval is how often the file is checked for changes.
const DefaultInterval = time.Second

// errEmpty is returned for a file with nothing in it: more likely a file
// caught between being truncated and written than a cluster without objects.
var errEmpty = errors.New("file is empty (a cluster without objects is `kind: List` with `items: []`)")

// Config says which file to read and how to report its loads.
type Config struct {
	// Path is the manifests file.
	Path string
	// Interval is how often the file is checked for changes; 0 is
	// DefaultInterval.
	Interval time.Duration
	// OnLoad, when set, is called after every load attempt with its error
	// (nil on success), for metrics.
	OnLoad func(err error)
}

// Source feeds an index from a manifests file.
//
// The file is watched by polling its metadata (size, modification time and
// identity, so that a rename over it or a ConfigMap's symlink swap counts)
// rather than with inotify: polling sees through every way a file gets
// replaced, and costs one stat per interval. A change is loaded once the
// metadata has held still for one interval, so that a file written in
// place (`kubectl get ... > file`) is not read half-written.
//
// Metadata can miss a write: two writes of the same size within one tick of
// the file system's clock leave the same modification time. So while the
// modification time is recent (racyWindow), every poll also compares the
// content's hash, as git does for its index.
type Source struct {
	cfg Config
	ix  *index.Index

	mu   sync.Mutex // guards the lifecycle fields below
	used bool       // started or stopped: a source runs once
	stop chan struct{}
	done chan struct{}

	// Owned by Start, then by the watching goroutine.
	seen    stamp    // the file's metadata when it was last read
	pending stamp    // metadata seen changed at the last poll
	racy    bool     // seen is too recent to tell later writes apart
	read    bool     // sum and lastErr are set
	sum     [32]byte // hash of the content last read
	lastErr error    // what loading that content gave
}

// racyWindow is how recent a modification time must be for a write after
// it to possibly leave it unchanged: file system clocks tick every few
// milliseconds on Linux, every second or two on some network and FAT file
// systems.
const racyWindow = 2 * time.Second

// New returns a source that loads cfg.Path into ix. Nothing happens until
// Start.
func New(cfg Config, ix *index.Index) *Source {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	return &Source{cfg: cfg, ix: ix}
}

// Start loads the file, and returns why if that fails; then it watches the
// file for changes until Stop. A source starts once.
func (s *Source) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used {
		return errors.New("file source already started or stopped")
	}
	s.used = true

	s.seen = statFile(s.cfg.Path)
	_, err := s.load()
	s.report(err)
	if err != nil {
		return err
	}
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.watch(s.stop, s.done)
	return nil
}

// Stop stops watching the file and waits until the watcher has exited. It
// is safe to call more than once, and without Start.
func (s *Source) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop, s.used = nil, true
	s.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
}

func (s *Source) watch(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			s.poll()
		}
	}
}

// poll reloads the file when its metadata has changed and then held still
// for one interval, or when its content may have changed unseen.
func (s *Source) poll() {
	st := statFile(s.cfg.Path)
	moved := !st.equal(s.seen)
	switch {
	case moved && !st.equal(s.pending):
		s.pending = st
		return
	case !moved && !s.racy:
		s.pending = stamp{}
		return
	}
	s.seen, s.pending = st, stamp{}
	changed, err := s.load()
	if !moved && !changed {
		return // a racy check that found the same content: nothing to say
	}
	s.report(err)
	if err != nil {
		log.Errorf("Reload failed, still serving the last good state: %v", err)
	}
}

func (s *Source) report(err error) {
	if s.cfg.OnLoad != nil {
		s.cfg.OnLoad(err)
	}
}

// load reads the file and, when its content differs from the last read,
// replaces the index's objects with it. It tells whether the content
// differed; for the same content it returns the same error as before.
func (s *Source) load() (changed bool, err error) {
	start := time.Now()
	s.racy = s.seen.info != nil && !s.seen.info.ModTime().Before(start.Add(-racyWindow))
	data, err := os.ReadFile(s.cfg.Path)
	if err != nil {
		return true, err
	}
	sum := sha256.Sum256(data)
	if s.read && sum == s.sum {
		return false, s.lastErr
	}
	s.read, s.sum, s.lastErr = true, sum, s.decode(data)
	return true, s.lastErr
}

func (s *Source) decode(data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s: %w", s.cfg.Path, errEmpty)
	}
	res, err := decodeManifests(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	s.ix.Replace(res.Changes)
	log.Infof("Loaded %s: %s", s.cfg.Path, summary(res))
	return nil
}

// summary counts a load's objects for the log.
func summary(res *Result) string {
	counts := make(map[object.Kind]int)
	for _, c := range res.Changes {
		counts[c.Kind]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d services, %d endpointslices, %d pods, %d namespaces",
		counts[object.KindService], counts[object.KindEndpointSlice], counts[object.KindPod], counts[object.KindNamespace])
	if len(res.Skipped) > 0 {
		kinds := make([]string, 0, len(res.Skipped))
		for k := range res.Skipped {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		b.WriteString("; skipped")
		for i, k := range kinds {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %d %s", res.Skipped[k], k)
		}
	}
	return b.String()
}

// stamp is what a stat tells about the file. os.SameFile compares the
// file's identity (device and inode on Unix) portably.
type stamp struct {
	info os.FileInfo
	err  string
}

func statFile(path string) stamp {
	fi, err := os.Stat(path) // follows symlinks: a ConfigMap swaps them
	if err != nil {
		return stamp{err: err.Error()}
	}
	return stamp{info: fi}
}

func (a stamp) equal(b stamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil && a.err == b.err
	}
	return os.SameFile(a.info, b.info) &&
		a.info.Size() == b.info.Size() &&
		a.info.ModTime().Equal(b.info.ModTime())
}
