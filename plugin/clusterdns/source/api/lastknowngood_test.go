package api

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/index"
)

// TestSaverClearsStaleTemp: a saver's start removes the temp file a
// killed writer left, then writes the snapshot.
func TestSaverClearsStaleTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	stale := filepath.Join(dir, ".snapshot.12345")
	if err := os.WriteFile(stale, []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, past, past); err != nil {
		t.Fatal(err)
	}
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{Snapshot: path, SnapshotInterval: time.Hour}, ix)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runSaver(ctx, "test")
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temp file is still there (%v)", err)
	}
}

// TestSaverSkipsWriteWhenStopped: a saver stopped before its first write
// does not begin it (Stop waits for the saver).
func TestSaverSkipsWriteWhenStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "snapshot")
	ix := index.New(index.Options{})
	ix.Synced()
	s := New(Config{Snapshot: path}, ix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.runSaver(ctx, "test")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a stopped saver wrote the snapshot (%v)", err)
	}
}
