package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/snapshot"
)

// DefaultSnapshotInterval is how often a changing view is saved.
const DefaultSnapshotInterval = 10 * time.Second

// identity names what this source watches, for the snapshot's header: a
// snapshot of another API server, or of other selectors, namespace or
// kinds, is not this source's last-known-good view (a pods-verified server
// must not start from a snapshot without pods).
func (s *Source) identity(host string) string {
	c := s.cfg
	return fmt.Sprintf("%s namespace=%q labels=%q namespace_labels=%q pods=%t endpoints=%t",
		host, c.Namespace, c.LabelSelector, c.NamespaceSelector, c.Pods, !c.NoEndpoints)
}

// preload serves the snapshot, if there is a good one, until the
// informers sync; it reports whether it does.
func (s *Source) preload(identity string) bool {
	path := s.cfg.Snapshot
	if path == "" {
		return false
	}
	start := time.Now()
	h, changes, err := snapshot.Read(path, identity)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Infof("no snapshot at %s yet: one is written once synced", path)
		return false
	case err != nil:
		log.Errorf("not serving snapshot %s: %v; starting without it", path, err)
		return false
	}
	s.ix.Preload(changes)
	log.Infof("serving %d objects from snapshot %s (written %s, %s ago; read in %s) until synced with the Kubernetes API",
		len(changes), path, h.Written.UTC().Format(time.RFC3339), time.Since(h.Written).Round(time.Second), time.Since(start).Round(time.Millisecond))
	return true
}

// runSaver saves the live view at once and then every interval in which
// it changed, until ctx ends. Failures are logged when they start and
// when they end, not at every attempt (each names another temp file).
func (s *Source) runSaver(ctx context.Context, identity string) {
	every := s.cfg.SnapshotInterval
	if every <= 0 {
		every = DefaultSnapshotInterval
	}
	// Temp files of writes cut short by a kill (an OOM kill mid-write)
	// would otherwise fill the volume: 17 MB each at the scale limits.
	snapshot.RemoveStale(s.cfg.Snapshot, time.Minute)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var (
		saved   uint64
		done    bool // saved holds a generation that was written
		failing bool
	)
	for {
		// A stop or reload does not wait for a write it can skip.
		if ctx.Err() != nil {
			return
		}
		if gen := s.ix.Generation(); !done || gen != saved {
			n, objs, gen := s.ix.Objects()
			err := snapshot.Write(s.cfg.Snapshot, snapshot.Header{Written: time.Now(), Source: identity}, n, objs)
			if s.cfg.OnSnapshotWrite != nil {
				s.cfg.OnSnapshotWrite(err)
			}
			switch {
			case err != nil && !failing:
				log.Errorf("writing snapshot %s: %v (retrying every %s)", s.cfg.Snapshot, err, every)
				failing = true
			case err == nil:
				if failing {
					log.Infof("snapshot %s written again", s.cfg.Snapshot)
					failing = false
				}
				saved, done = gen, true
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
