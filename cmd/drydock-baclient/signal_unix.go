//go:build unix

package main

import (
	"os"
	"syscall"
)

// signalOf returns the number of the signal that killed the process, if any.
func signalOf(ps *os.ProcessState) (int, bool) {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return int(ws.Signal()), true
}
