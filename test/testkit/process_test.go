package testkit

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stop ends a process with SIGTERM and reaps it; its output is in the Log.
func TestProcessStop(t *testing.T) {
	p, err := Start("sh", exec.Command("sh", "-c", `trap 'echo term; exit 3' TERM; echo up; while :; do sleep 0.01; done`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Await(10*time.Second, 10*time.Millisecond, func() bool { return strings.Contains(p.Log().String(), "up") }); err != nil {
		t.Fatal(err)
	}
	if rss, err := p.RSS(); err != nil || rss == 0 {
		t.Errorf("RSS = %d, %v", rss, err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	done, status := p.Exited()
	if !done || status == nil || p.cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("Exited() = %v, %v; want the exit status 3 of the TERM trap", done, status)
	}
	if !strings.Contains(p.Log().String(), "term") {
		t.Errorf("log %q: no SIGTERM seen", p.Log().String())
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal to an exited process: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// Await gives up as soon as the process exits.
func TestProcessAwaitExit(t *testing.T) {
	p, err := Start("false", exec.Command("false"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Await(time.Minute, 10*time.Millisecond, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("Await = %v, want an early exit", err)
	}
}
