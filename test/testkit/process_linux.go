package testkit

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel SIGKILL the process when the test binary
// dies without running its cleanups (go test's -timeout panic, a SIGKILL),
// so no server outlives the test holding its ports and temp dir.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
