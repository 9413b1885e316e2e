package testkit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopGrace is how long a process has after SIGTERM before Stop kills it:
// longer than the `lameduck 5s` of the shipped Corefile, and than
// kube-apiserver's and etcd's drain on SIGTERM.
const StopGrace = 15 * time.Second

// StartTimeout bounds how long a server may take to be ready: the API
// source alone waits 5 s (startup_timeout) when the API server is
// unreachable, and the cores are shared with other test binaries.
const StartTimeout = 20 * time.Second

// PollInterval is how often a condition with a deadline is checked.
const PollInterval = 50 * time.Millisecond

// Process is a program a test started: its output in a Log, its exit
// observed by a goroutine (so an early death is seen while waiting for
// readiness, not as a timeout), and one way to end it, Stop.
type Process struct {
	// Name names the process in errors.
	Name string

	cmd  *exec.Cmd
	log  *Log
	done chan struct{} // closed once the process has exited and is reaped
	err  error         // the exit status, set before done is closed
}

// Start starts cmd. Its stdout and stderr go to the process's Log, and also
// to cmd.Stdout and cmd.Stderr when the caller set them (a log file, say).
// On Linux the kernel kills the process if the test binary dies without
// running its cleanups. The caller stops it with Stop.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, cmd: cmd, log: &Log{}, done: make(chan struct{})}
	cmd.Stdout = tee(cmd.Stdout, p.log)
	cmd.Stderr = tee(cmd.Stderr, p.log)
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait() // reaps: no zombie outlives the test
		close(p.done)
	}()
	return p, nil
}

func tee(w io.Writer, log *Log) io.Writer {
	if w == nil {
		return log
	}
	return io.MultiWriter(w, log)
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Log is the process's output so far.
func (p *Process) Log() *Log { return p.log }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and its exit status.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Signal sends sig to the process; a process that has exited is not an
// error.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%v to %s (pid %d): %w", sig, p.Name, p.Pid(), err)
	}
	return nil
}

// Stop ends the process: SIGTERM, then SIGKILL if it has not exited within
// StopGrace. It returns once the process is reaped, with an error if it had
// to be killed. Stopping a process that has exited does nothing.
func (p *Process) Stop() error {
	if done, _ := p.Exited(); done {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(StopGrace):
	}
	err := p.Kill()
	return errors.Join(fmt.Errorf("%s (pid %d) ignored SIGTERM for %v and was killed", p.Name, p.Pid(), StopGrace), err)
}

// Kill ends the process with SIGKILL, as the OOM killer does, and returns
// once it is reaped.
func (p *Process) Kill() error {
	err := p.Signal(syscall.SIGKILL)
	<-p.done
	return err
}

// Await calls ready every interval until it reports true, and returns an
// error if the process exits or timeout passes first.
func (p *Process) Await(timeout, interval time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v", p.Name, timeout)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v)", p.Name, p.err)
		case <-tick.C:
		}
	}
	return nil
}

// RSS is the process's resident set size in bytes (VmRSS in
// /proc/PID/status).
func (p *Process) RSS() (uint64, error) { return RSS(p.Pid()) }

// RSS reads the resident set size of pid, in bytes, from /proc.
func RSS(pid int) (uint64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in /proc/%d/status", pid, pid)
}
