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
// when they end, not at every attempt.
func (s *Source) runSaver(ctx context.Context, identity string) {
	every := s.cfg.SnapshotInterval
	if every <= 0 {
		every = DefaultSnapshotInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var (
		saved   uint64
		done    bool // saved holds a generation that was written
		lastErr string
	)
	for {
		if gen := s.ix.Generation(); !done || gen != saved {
			objs, gen := s.ix.Objects()
			err := snapshot.Write(s.cfg.Snapshot, snapshot.Header{Written: time.Now(), Source: identity}, objs)
			if s.cfg.OnSnapshotWrite != nil {
				s.cfg.OnSnapshotWrite(err)
			}
			switch {
			case err != nil && err.Error() != lastErr:
				log.Errorf("writing snapshot %s: %v (retrying every %s)", s.cfg.Snapshot, err, every)
				lastErr = err.Error()
			case err == nil:
				if lastErr != "" {
					log.Infof("snapshot %s written again", s.cfg.Snapshot)
					lastErr = ""
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
