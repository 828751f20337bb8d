package main

import (
	"os"
	"syscall"
)

type sysSignal = syscall.Signal

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

func kill(pid int, sig sysSignal) error { return syscall.Kill(pid, sig) }

// tryLock takes an exclusive flock on f without waiting.
func tryLock(f *os.File) bool {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// unmount unmounts m, lazily when it is busy.
func unmount(m string) error {
	if err := syscall.Unmount(m, 0); err == nil {
		return nil
	}
	return syscall.Unmount(m, syscall.MNT_DETACH)
}

// newSession starts a child in a session of its own, so that it outlives
// this command and no terminal signal reaches it.
func newSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
