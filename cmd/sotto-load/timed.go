package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// execute runs the phases (setup, connect, timed run, grace) and builds
// the report. An interrupt during the timed run ends it early but still
// reports; one during setup or connect returns the context error.
func (l *load) execute(ctx context.Context) (*report, error) {
	c := l.cfg
	rep := &report{URL: c.url, Patients: c.patients, DevicesPerPatient: c.devicesPerPatient, StaffDevices: c.staff, TargetRate: c.rate, SetupOnly: c.setupOnly,
		Duration: c.duration.Seconds(), Warmup: c.warmup.Seconds(), MaxMessages: c.maxMessages}
	if c.maxMessages == 1<<63-1 {
		rep.MaxMessages = 0
	}
	if err := l.setup(ctx, &rep.Setup); err != nil {
		return nil, err
	}
	if c.setupOnly {
		rep.Errors, rep.Pass = l.errs.Snapshot(), rep.Setup.Failed == 0
		return rep, nil
	}
	var srv *serverReport
	var before procSample
	if c.serverPID > 0 {
		var err error
		if before, err = readProc(c.serverPID); err != nil {
			return nil, fmt.Errorf("--server-pid %d: %w", c.serverPID, err)
		}
		srv = &serverReport{PID: c.serverPID, RSSBeforeConnectMB: mb(before.rssKB)}
	}
	devCtx, devCancel := context.WithCancel(context.Background())
	defer func() { devCancel(); l.devWG.Wait() }()
	rep.Connections.SourceAddrs, rep.Connections.NofileLimit = l.nAddrs, l.nofile
	var warmConns int64
	warmed := func() {
		if srv != nil {
			time.Sleep(500 * time.Millisecond)
			if s, err := readProc(c.serverPID); err == nil {
				before, warmConns = s, l.connected.Load()
			}
		}
	}
	if err := l.connect(ctx, devCtx, &rep.Connections, warmed); err != nil {
		return nil, err
	}
	sampler := &rssSampler{pid: c.serverPID}
	if srv != nil {
		time.Sleep(time.Second) // let the server settle after the connection burst
		if after, err := readProc(c.serverPID); err == nil {
			srv.RSSAfterConnectMB = mb(after.rssKB)
			srv.PerConnOver = l.connected.Load() - warmConns
			srv.RSSPerConnKB = (float64(after.rssKB) - float64(before.rssKB)) / float64(max(srv.PerConnOver, 1))
		}
		srv.PeakReset = resetPeakRSS(c.serverPID) == nil
		sampler.sample()
	}

	w := l.timed(ctx, sampler)
	cpu0, cpu1 := w.from, w.to
	rep.Interrupted = ctx.Err() != nil
	l.awaitGrace()
	rep.Connections.HeldAtEnd = l.connected.Load()
	devCancel()
	l.devWG.Wait()

	measured := cpu1.self.at.Sub(cpu0.self.at).Seconds()
	m := &rep.Messages
	m.ByPatients, m.ByStaff, m.Failed, m.Skipped, m.Reads = l.byPatients.Load(), l.byStaff.Load(), l.failed.Load(), l.skipped.Load(), l.reads.Load()
	m.Measured, m.Late, m.DrainSecs = w.answered, int64(l.tr.post.Count())-w.answered, w.drain.Seconds()
	m.MeasuredSecs = measured
	m.AchievedRate = float64(m.Measured) / max(measured, 0.001)
	for _, d := range append(append([]*device(nil), l.sdev...), l.pdev...) {
		m.FramesReceived += d.frames.Load()
	}
	rep.Latency, rep.PostLatency = l.tr.e2e.Summary(), l.tr.post.Summary()
	rep.Delivery = l.tr.Counts()
	rep.Errors = l.errs.Snapshot()
	rep.ClientCPU = (cpu1.self.cpu - cpu0.self.cpu).Seconds() / max(measured, 0.001)
	if srv != nil {
		cpu := (cpu1.server.cpu - cpu0.server.cpu).Seconds()
		srv.CPUSeconds, srv.CPUCores = cpu, cpu/max(measured, 0.001)
		srv.CPUPerMessageMS = cpu * 1000 / max(float64(m.Measured), 1)
		if end, err := readProc(c.serverPID); err == nil {
			srv.PeakRSSMB = mb(end.hwmKB)
		}
		srv.SampledPeakMB = mb(sampler.maxKB.Load())
		rep.Server = srv
	}
	d := rep.Delivery
	rep.Pass = d.Lost == 0 && d.Duplicated == 0 && d.Misrouted == 0 && d.Messages > 0
	return rep, nil
}

func mb(kb uint64) float64 { return float64(kb) / 1024 }

// cpuMark is a CPU reading of the load tool and (when known) the server.
type cpuMark struct{ self, server procSample }

func (l *load) mark() cpuMark {
	var m cpuMark
	m.self, _ = readProc(0)
	if l.cfg.serverPID > 0 {
		m.server, _ = readProc(l.cfg.serverPID)
	}
	return m
}

// window is the measured part of a run: CPU marks at its start (end of
// warm-up) and end (the last send issued), the messages answered 201
// within it, and how long requests still queued or in flight took after
// it (a backlog means the server did not keep up).
type window struct {
	from, to cpuMark
	answered int64
	drain    time.Duration
}

// timed paces patient messages for warm-up + duration (or until
// --max-messages or an interrupt), with workers issuing the requests.
func (l *load) timed(ctx context.Context, sampler *rssSampler) window {
	c := l.cfg
	l.jobs = make(chan func(context.Context), 4*c.concurrency)
	reqCtx := context.WithoutCancel(ctx) // an interrupt lets requests in flight finish
	start := time.Now()
	l.measureFrom = start.Add(c.warmup) // before the workers start: read without a lock
	end := l.measureFrom.Add(c.duration)
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range l.jobs {
				j(reqCtx)
			}
		}()
	}
	cpu0 := l.mark()
	if c.warmup > 0 {
		go func() {
			select {
			case <-time.After(c.warmup):
			case <-ctx.Done():
			}
			l.gate.Lock()
			cpu0 = l.mark()
			l.gate.Unlock()
		}()
	}
	total := int64((c.warmup + c.duration).Seconds())
	stop := l.prog.Track("run (s)", total, func() (int64, string) {
		sampler.sample()
		el := time.Since(start)
		sent := l.byPatients.Load() + l.byStaff.Load()
		return int64(el.Seconds()), fmt.Sprintf("sent %d (%.0f/s)  held %d  errors %d  p99 %.1fms", sent,
			float64(sent)/max(el.Seconds(), 0.001), l.connected.Load(), l.errs.Total(), float64(l.tr.e2e.Quantile(0.99).Microseconds())/1000)
	})
	// Patient messages are paced open-loop at rate/(1+reply fraction);
	// staff replies, triggered by arrivals, make up the rest of the rate.
	interval := time.Duration(float64(time.Second) * (1 + c.replyFraction) / c.rate)
	timer := time.NewTimer(0)
	<-timer.C
pace:
	for i := int64(0); ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(end) {
			break
		}
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				timer.Stop()
				break pace
			case <-timer.C:
			}
		}
		if ctx.Err() != nil || !l.reserve() {
			break
		}
		pi := l.active[int(i%int64(len(l.active)))]
		if l.submit(func(ctx context.Context) { l.send(ctx, pi, false) }) != queued {
			l.issued.Add(-1)
			l.skipped.Add(1)
		}
	}
	to, answered := l.mark(), l.answered.Load()
	l.gate.Lock()
	l.closed = true
	from := cpu0
	l.gate.Unlock()
	close(l.jobs)
	wg.Wait()
	stop()
	return window{from: from, to: to, answered: answered, drain: time.Since(to.self.at)}
}

// awaitGrace waits up to --grace for the deliveries still in flight.
func (l *load) awaitGrace() {
	deadline := time.Now().Add(l.cfg.grace)
	for time.Now().Before(deadline) && l.tr.Counts().Lost > 0 {
		time.Sleep(100 * time.Millisecond)
	}
}

// reserve counts one more message against --max-messages.
func (l *load) reserve() bool {
	if l.issued.Add(1) > l.cfg.maxMessages {
		l.issued.Add(-1)
		return false
	}
	return true
}

// Outcomes of submit.
const (
	queued    = iota
	runOver   // the sending part of the run has ended
	saturated // the queue is full: the load tool cannot keep up
)

// submit queues a request for the workers without blocking.
func (l *load) submit(j func(context.Context)) int {
	l.gate.RLock()
	defer l.gate.RUnlock()
	if l.closed {
		return runOver
	}
	select {
	case l.jobs <- j:
		return queued
	default:
		return saturated
	}
}

// send posts one message in patient pi's conversation, as the patient or
// as the staff, and registers it with the tracker.
func (l *load) send(ctx context.Context, pi int, byStaff bool) {
	p := l.patients[pi]
	op, token := "send_patient", p.Token
	if byStaff {
		op, token = "send_staff", l.staffToken
	}
	n := l.seq.Add(1)
	body := map[string]string{"body": fmt.Sprintf("Load test message %d (fake data)", n),
		"idempotency_key": fmt.Sprintf("load-%s-%s-%d", l.st.RunID, l.nonce, n)}
	rec := &msgRec{patient: pi, byStaff: byStaff, start: time.Now()}
	rec.warmup = rec.start.Before(l.measureFrom)
	var m idAnswer
	err := l.api.do(ctx, op, "POST", "/api/v1/conversations/"+p.ConversationID+"/messages", token, body, &m)
	answered := time.Now()
	if err != nil {
		l.failed.Add(1)
		l.errs.Add(errorKind(op, err))
		return
	}
	if byStaff {
		l.byStaff.Add(1)
	} else {
		l.byPatients.Add(1)
	}
	if !rec.warmup {
		l.answered.Add(1)
	}
	l.tr.Sent(m.ID, rec, answered)
}

// react is the simulated users' behaviour on a first arrival: a patient
// opens a staff reply on their first device (read receipt); the staff
// device that looks after the patient answers a fraction of the patient's
// messages.
func (l *load) react(id string, rec *msgRec, slot, devPatient int) {
	per := l.cfg.devicesPerPatient
	if slot < per {
		if !rec.byStaff || slot != 0 {
			return
		}
		token := l.patients[devPatient].Token
		if l.submit(func(ctx context.Context) {
			if err := l.api.do(ctx, "read", "POST", "/api/v1/messages/"+id+"/read", token, nil, nil); err != nil {
				l.errs.Add(errorKind("read", err))
				return
			}
			l.reads.Add(1)
		}) == saturated {
			l.errs.Add("read: skipped (client saturated)")
		}
		return
	}
	if rec.byStaff || slot != per+rec.patient%len(l.sdev) || rand.Float64() >= l.cfg.replyFraction || !l.reserve() {
		return
	}
	switch l.submit(func(ctx context.Context) { l.send(ctx, rec.patient, true) }) {
	case saturated:
		l.skipped.Add(1)
		fallthrough
	case runOver:
		l.issued.Add(-1)
	}
}
