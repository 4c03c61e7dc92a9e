package main

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the garbage collector target of the server process. Go's default (100)
// spends about a fifth of the token endpoint's CPU on collection; at 300 the heap may grow to four
// times the live data (tens of megabytes here) and the collector runs a third as often.
// GOGC and GOMEMLIMIT in the environment still take precedence.
const serverGCPercent = 300

// tuneRuntime applies the server's runtime settings; serve and the benchmarks call it.
func tuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}
