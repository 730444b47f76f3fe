package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// load is one execution: the simulated users, their devices and the
// counters the report is made of.
type load struct {
	cfg    *config
	api    *api
	prog   *progress
	errs   *errCounter
	st     *state
	nofile uint64
	nAddrs int
	nonce  string // per execution, in idempotency keys

	staffToken string
	dept       string
	patients   []*patientInfo // ready, by position (the tracker's patient index)
	pdev, sdev []*device      // patient devices (devices-per-patient each, in patient order); staff devices
	active     []int          // positions of patients whose devices all connected: they send
	tr         *tracker
	connected  atomic.Int64
	devWG      sync.WaitGroup

	jobs        chan func(context.Context)
	gate        sync.RWMutex
	closed      bool
	measureFrom time.Time

	issued, byPatients, byStaff, failed, skipped, reads, seq, answered atomic.Int64
}

func newLoad(ctx context.Context, cfg *config, stderr io.Writer) (*load, error) {
	addrs, err := parseSourceAddrs(cfg.sourceAddrs)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	l := &load{cfg: cfg, prog: newProgress(stderr, cfg.quiet), errs: newErrCounter(), nAddrs: len(addrs), nonce: newRunID()}
	if l.nofile, err = raiseNofile(); err != nil {
		l.prog.Note("could not raise the open-files limit: " + err.Error())
	}
	conns := cfg.patients*cfg.devicesPerPatient + cfg.staff
	if need := uint64(conns+cfg.concurrency) + 64; l.nofile > 0 && need > l.nofile {
		l.prog.Note(fmt.Sprintf("warning: %d connections need about %d open files; the limit is %d", conns, need, l.nofile))
	}
	l.api = newAPI(cfg.url, newSourceDialer(addrs), cfg.concurrency)
	if _, err := readyz(ctx, l.api); err != nil {
		return nil, fmt.Errorf("server at %s is not ready: %w", cfg.url, err)
	}
	l.st, err = loadState(cfg.statePath, cfg.url, cfg.staffEmail, l.prog.Note)
	return l, err
}

// readyz checks GET /readyz.
func readyz(ctx context.Context, a *api) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return true, a.do(ctx, "readyz", "GET", "/readyz", "", nil, nil)
}

// setup signs the staff in, finds the department and makes the patients
// ready (reusing the state file's), then saves the state.
func (l *load) setup(ctx context.Context, r *setupReport) error {
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	var err error
	if l.staffToken, err = staffSignIn(ctx, l.api, l.cfg, l.st, l.prog.Note); err != nil {
		return err
	}
	switch {
	case l.cfg.departmentID != "":
		l.dept = l.cfg.departmentID
	case l.st.DepartmentID != "":
		l.dept = l.st.DepartmentID
	default:
		if l.dept, err = discoverDepartment(ctx, l.api, l.staffToken, l.st); err != nil {
			return fmt.Errorf("finding the staff account's department: %w", err)
		}
		l.prog.Note("using department " + l.dept + " (a queue the staff account belongs to)")
	}
	if l.st.DepartmentID != l.dept {
		// Patients of another department would not reach this staff.
		l.st.DepartmentID, l.st.Patients = l.dept, nil
	}
	r.DepartmentID = l.dept

	n := l.cfg.patients
	ready := make([]*patientInfo, n)
	var done, failed atomic.Int64
	var mu sync.Mutex
	began := time.Now()
	stop := l.prog.Track("setup", int64(n), func() (int64, string) {
		d := done.Load()
		return d, fmt.Sprintf("%.1f patients/s, %d failed", float64(d)/max(time.Since(began).Seconds(), 0.001), failed.Load())
	})
	idx := make(chan int)
	var wg sync.WaitGroup
	for range min(l.cfg.setupConcurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				p, how, err := ensurePatient(ctx, l.api, l.staffToken, l.dept, l.st, i)
				mu.Lock()
				switch {
				case err != nil && ctx.Err() == nil:
					failed.Add(1)
					r.Failed++
					l.errs.Add(errorKind("setup", err))
				case err == nil:
					ready[i] = p
					r.Reused += b2i(how == outcomeReused)
					r.SignedIn += b2i(how == outcomeSignedIn)
					r.Created += b2i(how == outcomeCreated)
				}
				mu.Unlock()
				done.Add(1)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		idx <- i
	}
	close(idx)
	wg.Wait()
	stop()
	if err := l.st.save(l.cfg.statePath); err != nil {
		l.prog.Note(err.Error())
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, p := range ready {
		if p != nil {
			l.patients = append(l.patients, p)
		}
	}
	r.Ready = len(l.patients)
	if r.Ready == 0 {
		return errors.New("no patient could be set up (see the errors above)")
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// connect opens every device's WebSocket (bounded concurrency) and starts
// its read loop under devCtx. Staff devices are needed: one that cannot
// connect after three tries fails the run. A patient with a device that
// cannot connect does not send. When there are 20 devices or more, warmed
// is called once a first tenth of them is connected (so that the server's
// one-time costs can be told apart from the per-connection cost).
func (l *load) connect(ctx, devCtx context.Context, r *connectionsReport, warmed func()) error {
	start := time.Now()
	defer func() { r.ConnectSeconds = time.Since(start).Seconds() }()
	per := l.cfg.devicesPerPatient
	l.tr = newTracker(per, l.cfg.staff, l.react)
	env := deviceEnv{api: l.api, tr: l.tr, errs: l.errs, connected: &l.connected}
	var all []*device
	for s := range l.cfg.staff {
		d := &device{slot: per + s, patient: -1, token: l.staffToken}
		l.sdev = append(l.sdev, d)
		all = append(all, d)
	}
	for i, p := range l.patients {
		for k := range per {
			d := &device{slot: k, patient: i, token: p.Token}
			l.pdev = append(l.pdev, d)
			all = append(all, d)
		}
	}
	failedPatient := make([]bool, len(l.patients))
	var done atomic.Int64
	stop := l.prog.Track("connect", int64(len(all)), func() (int64, string) {
		return done.Load(), fmt.Sprintf("%d held", l.connected.Load())
	})
	defer stop()
	var staffErr error
	var mu sync.Mutex
	sem := make(chan struct{}, l.cfg.connectPar)
	var wg sync.WaitGroup
	warm := len(all) / 10
	if len(all) < 20 {
		warm = -1
	}
	for i, d := range all {
		if ctx.Err() != nil {
			break
		}
		if i == warm {
			wg.Wait()
			warmed()
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done(); done.Add(1) }()
			var err error
			for try := 0; try < 3; try++ {
				if err = d.dial(ctx, l.api); err == nil || d.patient >= 0 || ctx.Err() != nil {
					break
				}
			}
			if err != nil {
				l.errs.Add(errorKind("ws_connect", err))
				mu.Lock()
				if d.patient >= 0 {
					failedPatient[d.patient] = true
					r.Failed++
				} else {
					staffErr = err
				}
				mu.Unlock()
				return
			}
			l.connected.Add(1)
			l.devWG.Add(1)
			go func() { defer l.devWG.Done(); d.run(devCtx, env) }()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if staffErr != nil {
		return fmt.Errorf("a staff device could not connect: %w", staffErr)
	}
	for i, failed := range failedPatient {
		if !failed {
			l.active = append(l.active, i)
		}
	}
	r.PatientWS, r.StaffWS = len(l.pdev)-r.Failed, len(l.sdev)
	if len(l.active) == 0 {
		return errors.New("no patient device could connect")
	}
	return nil
}
