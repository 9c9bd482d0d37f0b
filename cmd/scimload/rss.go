package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSSReport is the resident memory of a local server process.
type RSSReport struct {
	PID int `json:"pid"`
	// PeakRSSMB is the largest VmRSS sampled during the run.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// HWMMB is VmHWM at the end: the peak since the process started.
	HWMMB float64 `json:"hwm_mb"`
}

// procStatus reads the kB values of the named fields of /proc/PID/status.
func procStatus(pid int, fields ...string) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("server-pid %d: %w (sampling RSS needs Linux and a process of this machine)", pid, err)
	}
	return parseStatus(b, fields...), nil
}

// parseStatus picks "Name:   1234 kB" lines out of a /proc status file.
func parseStatus(b []byte, fields ...string) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, f := range fields {
			if name == f {
				v, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					out[f] = v
				}
			}
		}
	}
	return out
}

// rssSampler samples the VmRSS of processes every interval until stop.
type rssSampler struct {
	pids []int
	peak []int64
	done chan struct{}
	wg   sync.WaitGroup
}

// startRSS checks that each process can be read and starts sampling.
func startRSS(pids []int, every time.Duration) (*rssSampler, error) {
	s := &rssSampler{pids: pids, peak: make([]int64, len(pids)), done: make(chan struct{})}
	for _, pid := range pids {
		if _, err := procStatus(pid, "VmRSS"); err != nil {
			return nil, err
		}
	}
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s, nil
}

func (s *rssSampler) sample() {
	for i, pid := range s.pids {
		if m, err := procStatus(pid, "VmRSS"); err == nil {
			s.peak[i] = max(s.peak[i], m["VmRSS"])
		}
	}
}

// stop ends sampling and reports.
func (s *rssSampler) stop() []RSSReport {
	close(s.done)
	s.wg.Wait()
	s.sample()
	var out []RSSReport
	for i, pid := range s.pids {
		r := RSSReport{PID: pid, PeakRSSMB: mb(s.peak[i])}
		if m, err := procStatus(pid, "VmHWM"); err == nil {
			r.HWMMB = mb(m["VmHWM"])
		}
		out = append(out, r)
	}
	return out
}

func mb(kb int64) float64 { return math.Round(float64(kb)/1024*10) / 10 }
