//go:build !linux

package main

import (
	"errors"
	"os"
	"syscall"
)

// dockerd runs on Linux only (whyNot says so before anything starts); these
// keep the command building elsewhere.

type sysSignal int

const (
	sigTerm sysSignal = 15
	sigKill sysSignal = 9
)

var errNotLinux = errors.New("not Linux")

func kill(int, sysSignal) error        { return errNotLinux }
func tryLock(*os.File) bool            { return true }
func unmount(string) error             { return errNotLinux }
func newSession() *syscall.SysProcAttr { return nil }
