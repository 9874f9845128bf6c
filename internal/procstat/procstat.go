// Package procstat reads the process's own resource figures from Linux
// /proc, for the run summary and the benchmarks.
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// PeakRSS is the process's peak resident set size in bytes (VmHWM), or 0
// where the kernel does not say.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
