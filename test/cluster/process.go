package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/clusterdns/clusterdns/test/testkit"
)

// process is one run of a component: its command line and log file, and
// the running testkit.Process, whose exit is observed so that an early death
// is seen while waiting for readiness instead of as a timeout. A restart is a
// new process.
type process struct {
	name    string
	path    string
	args    []string
	env     []string
	logPath string

	*testkit.Process
}

// start runs the component with its output appended to logPath: appended, so
// a restarted API server keeps the log of its previous life.
func (p *process) start() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "==== %s: %s %q\n", time.Now().Format(time.RFC3339Nano), p.path, p.args)
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if p.Process, err = testkit.Start(p.name, cmd); err != nil {
		f.Close()
		return err
	}
	go func() {
		<-p.Done()
		f.Close()
	}()
	return nil
}

// tail returns the last n lines of the component's log file, its previous
// lives included, for the test log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return testkit.Tail(string(b), n)
}
