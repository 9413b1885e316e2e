//go:build !linux

package testkit

import "os/exec"

// dieWithParent: only Linux can tie a child's life to its parent's;
// elsewhere the test's cleanups are all that stops a process.
func dieWithParent(*exec.Cmd) {}
