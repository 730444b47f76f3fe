package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// TestTrackerAccounting: arrivals before and after the POST answer,
// duplicates, misrouted frames, losses and the reactions they trigger.
func TestTrackerAccounting(t *testing.T) {
	type reaction struct {
		id         string
		slot, devP int
	}
	var mu sync.Mutex
	var reactions []reaction
	// 2 devices per patient (slots 0, 1), 2 staff devices (slots 2, 3).
	tr := newTracker(2, 2, func(id string, rec *msgRec, slot, devP int) {
		mu.Lock()
		reactions = append(reactions, reaction{id, slot, devP})
		mu.Unlock()
	})
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	// m1 (patient 0): the patient's first device and one staff device see
	// the frame before the POST answers; then the rest, and one duplicate.
	tr.Arrived("m1", 0, 0, at(4))
	tr.Arrived("m1", 2, -1, at(5))
	tr.Sent("m1", &msgRec{patient: 0, start: t0}, at(6))
	tr.Arrived("m1", 1, 0, at(7))
	tr.Arrived("m1", 3, -1, at(8))
	tr.Arrived("m1", 3, -1, at(9)) // duplicate on the same device
	// m2 (patient 1, a warm-up message): patient 0's device receives it
	// (misrouted); patient 1's second device and a staff device never do.
	tr.Sent("m2", &msgRec{patient: 1, start: t0, warmup: true}, at(3))
	tr.Arrived("m2", 0, 1, at(10))
	tr.Arrived("m2", 1, 0, at(11)) // patient 0's device: misrouted
	tr.Arrived("m2", 2, -1, at(12))
	// A frame for a message this run never sent.
	tr.Arrived("foreign", 2, -1, at(13))

	c := tr.Counts()
	want := deliveryCounts{Messages: 2, Expected: 8, Arrived: 6, Lost: 2, Duplicated: 1, Misrouted: 1, Untracked: 1}
	if c != want {
		t.Fatalf("counts %+v\nwant   %+v", c, want)
	}
	// Latencies: m1's four first arrivals only (m2 is warm-up).
	if s := tr.e2e.Summary(); s.Count != 4 || s.MinMS != 4 || s.MaxMS != 8 {
		t.Fatalf("end-to-end latencies %+v, want 4 samples from 4 to 8 ms", s)
	}
	if s := tr.post.Summary(); s.Count != 1 || s.MaxMS != 6 {
		t.Fatalf("POST latencies %+v, want one sample of 6 ms", s)
	}
	if len(reactions) != 6 {
		t.Fatalf("reactions %+v, want one per first arrival (6)", reactions)
	}
}

func sampleReport() *report {
	return &report{
		URL: "http://127.0.0.1:8080", Patients: 200, DevicesPerPatient: 1, StaffDevices: 2, TargetRate: 100, Duration: 20, Warmup: 3,
		Setup:       setupReport{DepartmentID: "dept-1", Ready: 200, Created: 200, Seconds: 81.2},
		Connections: connectionsReport{PatientWS: 200, StaffWS: 2, HeldAtEnd: 202, ConnectSeconds: 0.4, NofileLimit: 20000},
		Messages:    messagesReport{ByPatients: 1840, ByStaff: 460, Reads: 455, Measured: 2000, MeasuredSecs: 20, AchievedRate: 100, FramesReceived: 9000},
		Latency:     latencySummary{Count: 6000, P50MS: 4.2, P95MS: 12.5, P99MS: 31.0, P999: 52, MaxMS: 60.1, Mean: 5.5},
		PostLatency: latencySummary{Count: 2000, P50MS: 4.5, P95MS: 13, P99MS: 33, P999: 55, MaxMS: 61, Mean: 5.9},
		Delivery:    deliveryCounts{Messages: 2300, Expected: 6900, Arrived: 6900},
		Errors:      map[string]int64{"ws: close 4008": 2, "send_patient: HTTP 503 unavailable": 1},
		Server:      &serverReport{PID: 99, CPUSeconds: 4.4, CPUCores: 0.22, CPUPerMessageMS: 2.2, RSSBeforeConnectMB: 22, RSSAfterConnectMB: 28, RSSPerConnKB: 30.4, PerConnOver: 180, PeakRSSMB: 34, PeakReset: true, SampledPeakMB: 33},
		ClientCPU:   0.05,
		Pass:        true,
	}
}

func TestReportText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().writeText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"PASS (nothing lost, duplicated or misrouted)",
		"200 × 1 / 2",
		"200 patient + 2 staff = 202 (0 failed)",
		"100.0 msg/s of 100 target (2000 answered in 20.0s after warm-up)",
		"send → WebSocket frame  4.2",
		"0 / 0 / 0",
		"0.22 cores, 2.20 ms per message",
		"30.4 KB (growth over the last 180 connections opened)",
		"34.0 MB since connecting",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Errors are listed sorted by kind.
	if i, j := strings.Index(out, "send_patient: HTTP 503"), strings.Index(out, "ws: close 4008"); i < 0 || j < 0 || i > j {
		t.Errorf("errors not listed in order:\n%s", out)
	}
	// Latency columns line up under their headers.
	lines := strings.Split(out, "\n")
	var hdr, row string
	for _, l := range lines {
		if strings.HasPrefix(l, "latency (ms)") {
			hdr = l
		}
		if strings.HasPrefix(l, "  send → WebSocket frame") {
			row = l
		}
	}
	hc, rc := strings.Index(hdr, "p99 "), strings.Index(row, "31.0")
	if hc < 0 || rc < 0 || utf8.RuneCountInString(hdr[:hc]) != utf8.RuneCountInString(row[:rc]) {
		t.Errorf("p99 column misaligned:\n%s\n%s", hdr, row)
	}

	r := sampleReport()
	r.Pass, r.Interrupted, r.Server, r.Delivery.Lost = false, true, nil, 3
	b.Reset()
	_ = r.writeText(&b)
	if out := b.String(); !strings.Contains(out, "FAIL") || !strings.Contains(out, "interrupted early") || strings.Contains(out, "server (pid") {
		t.Errorf("failed, interrupted run without server stats:\n%s", out)
	}
	r = sampleReport()
	r.SetupOnly = true
	b.Reset()
	_ = r.writeText(&b)
	if out := b.String(); !strings.Contains(out, "setup only, 200 patients ready") || strings.Contains(out, "latency") {
		t.Errorf("setup-only report:\n%s", out)
	}
}

func TestReportJSON(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().writeJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, b.String())
	}
	for _, path := range [][]string{{"latency_end_to_end", "p99_ms"}, {"delivery", "lost"}, {"delivery", "duplicated"},
		{"messages", "achieved_rate"}, {"server", "rss_per_idle_connection_kb"}, {"errors", "ws: close 4008"}, {"pass"}} {
		var v any = m
		for _, k := range path {
			v = v.(map[string]any)[k]
		}
		if v == nil {
			t.Errorf("JSON lacks %v", path)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	var first any
	if err := dec.Decode(&first); err != nil || dec.More() {
		t.Errorf("want exactly one JSON value (%v)", err)
	}
}
