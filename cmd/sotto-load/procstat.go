package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)
// needs cgo to ask).
const clockTicks = 100

// procSample is one reading of a process's CPU time and memory.
type procSample struct {
	at    time.Time
	cpu   time.Duration // user + system time so far
	rssKB uint64        // VmRSS
	hwmKB uint64        // VmHWM: peak RSS since start or the last reset
}

// readProc reads /proc/PID/stat and /proc/PID/status ("self" for pid 0).
func readProc(pid int) (procSample, error) {
	dir := "/proc/self"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return s, err
	}
	if s.cpu, err = parseStatCPU(string(stat)); err != nil {
		return s, err
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return s, err
	}
	s.rssKB, s.hwmKB = parseStatusMem(string(status))
	return s, nil
}

// parseStatCPU returns utime+stime from the text of /proc/PID/stat. The
// command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc stat: %d fields", len(f)+2)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// parseStatusMem returns VmRSS and VmHWM (kB) from /proc/PID/status.
func parseStatusMem(status string) (rss, hwm uint64) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}

// resetPeakRSS resets VmHWM to the current RSS (writing 5 to clear_refs,
// Linux 4.0+; needs permission to the process), so that the peak of the
// run is not the peak of the argon2id-heavy setup.
func resetPeakRSS(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}

// rssSampler keeps the highest RSS seen by periodic samples.
type rssSampler struct {
	pid   int
	maxKB atomic.Uint64
}

func (r *rssSampler) sample() {
	if r == nil || r.pid <= 0 {
		return
	}
	s, err := readProc(r.pid)
	for err == nil {
		old := r.maxKB.Load()
		if s.rssKB <= old || r.maxKB.CompareAndSwap(old, s.rssKB) {
			return
		}
	}
}
