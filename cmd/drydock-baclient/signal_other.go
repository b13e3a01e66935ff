//go:build !unix

package main

import "os"

// signalOf is only meaningful on Unix.
func signalOf(*os.ProcessState) (int, bool) { return 0, false }
