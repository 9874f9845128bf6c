package procstat

import (
	"runtime"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is Linux's")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if got := PeakRSS(); got < int64(len(buf)) {
		t.Errorf("PeakRSS() = %d after touching %d bytes", got, len(buf))
	}
	runtime.KeepAlive(buf)
}
