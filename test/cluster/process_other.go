//go:build !linux

package cluster

import "syscall"

// sysProcAttr: only Linux can tie a child's life to its parent's; elsewhere
// the cleanups registered by Start are all that stops the components.
func sysProcAttr() *syscall.SysProcAttr { return nil }
