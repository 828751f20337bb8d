package sandbox

import "syscall"

// procAttr puts children in their own process group and has the kernel kill
// them when the sandbox process dies, so no control plane outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
