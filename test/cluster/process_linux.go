package cluster

import "syscall"

// sysProcAttr makes the kernel SIGKILL a component when the test binary dies
// without running its cleanups (go test's -timeout panic, a SIGKILL), so no
// etcd or API server outlives the test holding its ports and temp dir.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
