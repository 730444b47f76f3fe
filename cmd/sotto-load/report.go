package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
)

// errCounter counts errors by kind.
type errCounter struct {
	mu sync.Mutex
	m  map[string]int64
}

func newErrCounter() *errCounter { return &errCounter{m: map[string]int64{}} }

// Add counts one error of kind.
func (e *errCounter) Add(kind string) {
	e.mu.Lock()
	e.m[kind]++
	e.mu.Unlock()
}

// Snapshot returns a copy of the counts.
func (e *errCounter) Snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

// Total returns the number of errors counted.
func (e *errCounter) Total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, v := range e.m {
		n += v
	}
	return n
}

// report is the outcome of a run; --json prints it as one object.
type report struct {
	URL               string  `json:"url"`
	Patients          int     `json:"patients"`
	DevicesPerPatient int     `json:"devices_per_patient"`
	StaffDevices      int     `json:"staff_devices"`
	TargetRate        float64 `json:"target_rate"`
	Duration          float64 `json:"duration_s"`
	Warmup            float64 `json:"warmup_s"`
	MaxMessages       int64   `json:"max_messages,omitempty"`

	Setup       setupReport       `json:"setup"`
	Connections connectionsReport `json:"connections"`
	Messages    messagesReport    `json:"messages"`
	Latency     latencySummary    `json:"latency_end_to_end"`
	PostLatency latencySummary    `json:"latency_post"`
	Delivery    deliveryCounts    `json:"delivery"`
	Errors      map[string]int64  `json:"errors"`
	Server      *serverReport     `json:"server,omitempty"`
	ClientCPU   float64           `json:"client_cpu_cores"`
	Pass        bool              `json:"pass"` // nothing lost, duplicated or misrouted
	Interrupted bool              `json:"interrupted,omitempty"`
	SetupOnly   bool              `json:"setup_only,omitempty"`
}

type setupReport struct {
	DepartmentID string  `json:"department_id"`
	Ready        int     `json:"patients_ready"`
	Reused       int     `json:"patients_reused"`
	SignedIn     int     `json:"patients_signed_in_again"`
	Created      int     `json:"patients_created"`
	Failed       int     `json:"patients_failed"`
	Seconds      float64 `json:"seconds"`
}

type connectionsReport struct {
	PatientWS      int     `json:"patient_ws"`
	StaffWS        int     `json:"staff_ws"`
	Failed         int     `json:"failed"`
	HeldAtEnd      int64   `json:"held_at_end"`
	ConnectSeconds float64 `json:"connect_seconds"`
	SourceAddrs    int     `json:"source_addrs"`
	NofileLimit    uint64  `json:"nofile_limit"`
}

type messagesReport struct {
	ByPatients     int64   `json:"sent_by_patients"`
	ByStaff        int64   `json:"sent_by_staff"`
	Failed         int64   `json:"send_failed"`
	Skipped        int64   `json:"skipped_client_saturated"`
	Reads          int64   `json:"read_receipts"`
	Measured       int64   `json:"measured"` // sent after warm-up and answered 201 before the last send was issued
	MeasuredSecs   float64 `json:"measured_s"`
	Late           int64   `json:"answered_after_window"` // sent after warm-up, answered after the last send was issued
	DrainSecs      float64 `json:"drain_s"`               // from the last send issued to the last answer
	AchievedRate   float64 `json:"achieved_rate"`
	FramesReceived int64   `json:"frames_received"`
}

type serverReport struct {
	PID                int     `json:"pid"`
	CPUSeconds         float64 `json:"cpu_s"`
	CPUCores           float64 `json:"cpu_cores"`
	CPUPerMessageMS    float64 `json:"cpu_ms_per_message"`
	RSSBeforeConnectMB float64 `json:"rss_before_connect_mb"`
	RSSAfterConnectMB  float64 `json:"rss_after_connect_mb"`
	RSSPerConnKB       float64 `json:"rss_per_idle_connection_kb"`
	PerConnOver        int64   `json:"rss_per_connection_over"` // connections the per-connection figure is measured over
	PeakRSSMB          float64 `json:"peak_rss_mb"`             // VmHWM
	PeakReset          bool    `json:"peak_rss_reset_after_setup"`
	SampledPeakMB      float64 `json:"sampled_peak_rss_mb"`
}

// writeJSON prints r as one JSON object.
func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeText prints r as aligned human-readable tables.
func (r *report) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, a...)...) }
	verdict := "PASS (nothing lost, duplicated or misrouted)"
	if !r.Pass {
		verdict = "FAIL (deliveries lost, duplicated or misrouted)"
	}
	if r.Interrupted {
		verdict += " — interrupted early"
	}
	if r.SetupOnly {
		verdict = fmt.Sprintf("setup only, %d patients ready, %d failed", r.Setup.Ready, r.Setup.Failed)
	}
	fmt.Fprintf(tw, "sotto-load against %s: %s\n", r.URL, verdict)
	fmt.Fprintf(tw, "scenario\n")
	row("patients × devices / staff devices", "%d × %d / %d", r.Patients, r.DevicesPerPatient, r.StaffDevices)
	row("target rate", "%.0f msg/s for %.0fs (warm-up %.0fs)", r.TargetRate, r.Duration, r.Warmup)
	fmt.Fprintf(tw, "setup\n")
	s := r.Setup
	row("department", "%s", s.DepartmentID)
	row("patients ready", "%d (%d reused, %d signed in again, %d created, %d failed) in %.1fs", s.Ready, s.Reused, s.SignedIn, s.Created, s.Failed, s.Seconds)
	if !r.SetupOnly {
		r.writeRun(tw, row)
	}
	writeErrors(tw, row, r.Errors)
	if !r.SetupOnly {
		r.writeResources(tw, row)
	}
	return tw.Flush()
}

// writeRun prints the connection, message, latency and delivery sections.
func (r *report) writeRun(tw io.Writer, row func(k, format string, a ...any)) {
	fmt.Fprintf(tw, "connections\n")
	c := r.Connections
	row("WebSockets", "%d patient + %d staff = %d (%d failed) in %.1fs", c.PatientWS, c.StaffWS, c.PatientWS+c.StaffWS, c.Failed, c.ConnectSeconds)
	row("held at end", "%d", c.HeldAtEnd)
	row("source addresses / nofile", "%d / %d", max(c.SourceAddrs, 1), c.NofileLimit)
	fmt.Fprintf(tw, "messages\n")
	m := r.Messages
	row("sent", "%d by patients, %d staff replies, %d read receipts", m.ByPatients, m.ByStaff, m.Reads)
	row("failed / skipped", "%d / %d (client saturated)", m.Failed, m.Skipped)
	row("sustained", "%.1f msg/s of %.0f target (%d answered in %.1fs after warm-up)", m.AchievedRate, r.TargetRate, m.Measured, m.MeasuredSecs)
	row("backlog", "%d answered in the %.1fs after the last send", m.Late, m.DrainSecs)
	row("frames received", "%d", m.FramesReceived)
	fmt.Fprintf(tw, "latency (ms)\tp50\tp95\tp99\tp99.9\tmax\tmean\tsamples\n")
	lat := func(name string, l latencySummary) {
		fmt.Fprintf(tw, "  %s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\n", name, l.P50MS, l.P95MS, l.P99MS, l.P999, l.MaxMS, l.Mean, l.Count)
	}
	lat("send → WebSocket frame", r.Latency)
	lat("POST → 201", r.PostLatency)
	fmt.Fprintf(tw, "delivery\n")
	d := r.Delivery
	row("expected / arrived", "%d / %d (messages %d)", d.Expected, d.Arrived, d.Messages)
	row("lost / duplicated / misrouted", "%d / %d / %d", d.Lost, d.Duplicated, d.Misrouted)
	row("untracked frames", "%d", d.Untracked)
}

// writeErrors prints the errors by kind, sorted.
func writeErrors(tw io.Writer, row func(k, format string, a ...any), errs map[string]int64) {
	fmt.Fprintf(tw, "errors\n")
	if len(errs) == 0 {
		row("none", "")
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		row(strings.ReplaceAll(k, "\t", " "), "%d", errs[k])
	}
}

// writeResources prints the server's and the load tool's CPU and memory.
func (r *report) writeResources(tw io.Writer, row func(k, format string, a ...any)) {
	if sv := r.Server; sv != nil {
		fmt.Fprintf(tw, "server (pid %d)\n", sv.PID)
		row("CPU", "%.1fs = %.2f cores, %.2f ms per message", sv.CPUSeconds, sv.CPUCores, sv.CPUPerMessageMS)
		row("RSS before / after connecting", "%.1f / %.1f MB", sv.RSSBeforeConnectMB, sv.RSSAfterConnectMB)
		row("RSS per idle connection", "%.1f KB (growth over the last %d connections opened)", sv.RSSPerConnKB, sv.PerConnOver)
		note := "since start (includes setup)"
		if sv.PeakReset {
			note = "since connecting"
		}
		row("peak RSS", "%.1f MB %s; sampled during run %.1f MB", sv.PeakRSSMB, note, sv.SampledPeakMB)
	}
	fmt.Fprintf(tw, "load tool\n")
	row("CPU", "%.2f cores", r.ClientCPU)
}
