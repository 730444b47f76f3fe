package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a one-line progress bar on a terminal (redrawn in place
// four times a second) or, when stderr is a file or pipe, prints a plain
// line every five seconds.
type progress struct {
	w     io.Writer
	tty   bool
	quiet bool
	mu    sync.Mutex
}

func newProgress(w io.Writer, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, quiet: quiet}
}

// bar renders "label [#####.....]  done/total  extra".
func bar(label string, done, total int64, extra string) string {
	const width = 30
	filled := 0
	if total > 0 {
		filled = int(min(done, total) * width / total)
	}
	s := fmt.Sprintf("%-8s [%s%s] %d/%d", label, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
	if extra != "" {
		s += "  " + extra
	}
	return s
}

// Note prints a message line (clearing a bar being drawn).
func (p *progress) Note(msg string) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintln(p.w, "sotto-load: "+msg)
}

// Track shows a bar for a phase until the returned stop is called; status
// returns the current done count and an extra text.
func (p *progress) Track(label string, total int64, status func() (int64, string)) (stop func()) {
	if p.quiet {
		return func() {}
	}
	every := 250 * time.Millisecond
	if !p.tty {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	draw := func(final bool) {
		n, extra := status()
		line := bar(label, n, total, extra)
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case p.tty && final:
			fmt.Fprint(p.w, "\r\033[K"+line+"\n")
		case p.tty:
			fmt.Fprint(p.w, "\r\033[K"+line)
		default:
			fmt.Fprintln(p.w, line)
		}
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				draw(true)
				return
			case <-t.C:
				draw(false)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
