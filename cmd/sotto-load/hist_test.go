package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestHistIndexPrecision: every value lands in a bucket whose value is
// within 1/128 of it, indexes never decrease as values grow, and the
// exact range is exact.
func TestHistIndexPrecision(t *testing.T) {
	prev := -1
	check := func(v int64) {
		t.Helper()
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, out of range", v, i)
		}
		if i < prev {
			t.Fatalf("histIndex(%d) = %d < %d: not monotonic", v, i, prev)
		}
		prev = i
		got := histValue(i)
		if v < 2*histSub && got != v {
			t.Fatalf("exact range: histValue(histIndex(%d)) = %d", v, got)
		}
		if rel := math.Abs(float64(got-v)) / float64(max(v, 1)); rel > 1.0/histSub {
			t.Fatalf("value %d reported as %d: %.4f relative error", v, got, rel)
		}
	}
	for v := int64(0); v < 100_000; v++ {
		check(v)
	}
	for v := int64(100_000); v < 1<<40; v = v*1001/1000 + 1 {
		check(v)
	}
	check(math.MaxInt64)
	if histIndex(-5) != 0 {
		t.Fatalf("negative values should count as 0")
	}
}

// TestHistQuantiles compares against the exact percentiles of sorted
// samples: within 1% for a uniform and a heavy-tailed distribution.
func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 1µs-10s": func() time.Duration { return time.Duration(1+rng.Int64N(10_000_000)) * time.Microsecond },
		"lognormal":       func() time.Duration { return time.Duration(math.Exp(rng.NormFloat64()*1.5+8)) * time.Microsecond },
	}
	for name, draw := range dists {
		t.Run(name, func(t *testing.T) {
			var h hist
			var exact []int64
			for range 200_000 {
				d := draw()
				h.Record(d)
				exact = append(exact, d.Microseconds())
			}
			slices.Sort(exact)
			for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := exact[int(math.Ceil(q*float64(len(exact))))-1]
				got := h.Quantile(q).Microseconds()
				if rel := math.Abs(float64(got-want)) / float64(max(want, 1)); rel > 0.01 {
					t.Errorf("q%.3f = %dµs, exact %dµs (%.2f%% off)", q, got, want, rel*100)
				}
			}
			s := h.Summary()
			if s.Count != uint64(len(exact)) || s.MinMS != float64(exact[0])/1000 || s.MaxMS != float64(exact[len(exact)-1])/1000 {
				t.Errorf("summary %+v: count, min or max wrong", s)
			}
		})
	}
}

func TestHistEdgeCases(t *testing.T) {
	var h hist
	if h.Quantile(0.99) != 0 || h.Summary() != (latencySummary{}) {
		t.Fatalf("empty histogram should report zeros")
	}
	h.Record(1234567 * time.Microsecond)
	for _, q := range []float64{0, 0.5, 1} {
		if got := h.Quantile(q); got != 1234567*time.Microsecond {
			t.Fatalf("single sample: q%.1f = %v, want the sample exactly (clamped to min/max)", q, got)
		}
	}
	h.Record(-time.Second)
	if s := h.Summary(); s.MinMS != 0 || s.Count != 2 {
		t.Fatalf("negative duration should count as 0: %+v", s)
	}
}

func TestHistConcurrent(t *testing.T) {
	var h hist
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10_000 {
				h.Record(time.Duration(g*10_000+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if h.Count() != 80_000 {
		t.Fatalf("count %d, want 80000", h.Count())
	}
	if p50 := h.Quantile(0.5).Microseconds(); p50 < 39_500 || p50 > 40_500 {
		t.Fatalf("p50 %dµs, want about 40000", p50)
	}
}
