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

// DefaultInterval is how often the file is checked for changes: a change is
// loaded at the second check after the write (see Source), so within two
// intervals plus the time to decode the file. A check is one stat.
const DefaultInterval = 100 * time.Millisecond

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
// modification time is recent (racyWindow), a poll every racyCheckEvery
// also compares the content's hash, as git does for its index.
//
// Each load after the first stamps the Services and EndpointSlices it
// changed (added, or different from the last load) with the time the
// change was seen, and the others with none: the programming latency
// metric then measures this source's delay for what changed, rather than
// the age of every object in the file.
type Source struct {
	cfg Config
	ix  *index.Index

	mu   sync.Mutex // guards the lifecycle fields below
	used bool       // started or stopped: a source runs once
	stop chan struct{}
	done chan struct{}

	// Owned by Start, then by the watching goroutine.
	seen        stamp     // the file's metadata when it was last read
	pending     stamp     // metadata seen changed at the last poll
	pendingAt   time.Time // when pending was first seen
	racy        bool      // seen is too recent to tell later writes apart
	racyChecked time.Time // when the content was last read for that
	read        bool      // sum and lastErr are set
	sum         [32]byte  // hash of the content last read
	lastErr     error     // what loading that content gave
	failing     bool      // the last load attempt failed
}

// racyWindow is how recent a modification time must be for a write after
// it to possibly leave it unchanged: file system clocks tick every few
// milliseconds on Linux, every second or two on some network and FAT file
// systems.
const racyWindow = 2 * time.Second

// racyCheckEvery spaces the content checks of a racy file: reading and
// hashing a large file at every poll would cost more than the rare write
// they catch is worth waiting for.
const racyCheckEvery = time.Second

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
	_, err := s.load(time.Time{})
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
	now := time.Now()
	st := statFile(s.cfg.Path)
	moved := !st.equal(s.seen)
	switch {
	case moved && !st.equal(s.pending):
		s.pending, s.pendingAt = st, now
		return
	case !moved && (!s.racy || now.Sub(s.racyChecked) < racyCheckEvery):
		s.pending = stamp{}
		return
	}
	seenAt := s.pendingAt
	if !moved {
		seenAt = now // a racy check: seen now, if changed
	}
	s.seen, s.pending = st, stamp{}
	changed, err := s.load(seenAt)
	if !moved && !changed {
		return // a racy check that found the same content: nothing to say
	}
	s.report(err)
	switch {
	case err != nil:
		log.Errorf("Reload failed, still serving the last good state: %v", err)
	case s.failing && !changed:
		// The content of the last good load came back (a file deleted
		// and restored): nothing loads, so nothing else would say so.
		log.Infof("Recovered %s: its content is the last good load's, which kept serving", s.cfg.Path)
	case s.failing:
		log.Infof("Recovered %s", s.cfg.Path)
	}
	s.failing = err != nil
}

func (s *Source) report(err error) {
	if s.cfg.OnLoad != nil {
		s.cfg.OnLoad(err)
	}
}

// load reads the file and, when its content differs from the last read,
// replaces the index's objects with it; seenAt is when the change was
// seen (zero for the first load). It tells whether the content differed;
// for the same content it returns the same error as before.
func (s *Source) load(seenAt time.Time) (changed bool, err error) {
	start := time.Now()
	s.racyChecked = start
	s.racy = s.seen.info != nil && !s.seen.info.ModTime().Before(start.Add(-racyWindow))
	data, err := os.ReadFile(s.cfg.Path)
	if err != nil {
		return true, err
	}
	sum := sha256.Sum256(data)
	if s.read && sum == s.sum {
		return false, s.lastErr
	}
	s.read, s.sum, s.lastErr = true, sum, s.decode(data, seenAt)
	return true, s.lastErr
}

func (s *Source) decode(data []byte, seenAt time.Time) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s: %w", s.cfg.Path, errEmpty)
	}
	res, err := decodeManifests(data)
	if err != nil {
		return fmt.Errorf("%s: %w", s.cfg.Path, err)
	}
	s.stampChanges(res.Changes, seenAt)
	s.ix.Replace(res.Changes)
	log.Infof("Loaded %s: %s", s.cfg.Path, summary(res, s.ix.Counts()))
	return nil
}

// stampChanges sets the change time of the Services and EndpointSlices
// in changes: seenAt for those the index (the last good load) does not hold
// as they are, none for the others. The first load's seenAt is zero: the
// API source does not count its initial list either. The manifests' own
// times (creation, managedFields) say when the cluster changed them, not
// when this file did.
func (s *Source) stampChanges(changes []index.Change, seenAt time.Time) {
	for _, c := range changes {
		meta := object.MetaOf(c.Object)
		if meta == nil || c.Kind != object.KindService && c.Kind != object.KindEndpointSlice {
			continue
		}
		meta.Changed = 0
		if old, _ := s.ix.Object(c.Kind, c.Namespace, c.Name); !object.SameView(old, c.Object) {
			meta.Changed = object.StampOf(seenAt)
		}
	}
}

// summary says what a load indexed, from the index's counts (what the
// objects metric reports), and what it left out: the pods of a file read
// without `pods verified`, which has no use for them, and the skipped
// objects.
func summary(res *Result, indexed map[object.Kind]int) string {
	pods := 0
	for _, c := range res.Changes {
		if c.Kind == object.KindPod {
			pods++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d services, %d endpointslices, %d pods, %d namespaces indexed",
		indexed[object.KindService], indexed[object.KindEndpointSlice], indexed[object.KindPod], indexed[object.KindNamespace])
	if unread := pods - indexed[object.KindPod]; unread > 0 {
		fmt.Fprintf(&b, "; %d pods not indexed (only pods verified and visibility read them)", unread)
	}
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
