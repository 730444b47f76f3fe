package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// Histogram layout (HDR style): values are microseconds; values below
// 2×histSub are counted exactly, larger ones in log-spaced buckets of
// histSub sub-buckets per power of two, so every recorded value is known
// to within 1/histSub (0.8%) of itself. The range reaches 2^63 µs.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits // 128
	histBuckets = 2*histSub + (63-histSubBits)*histSub
)

// hist is a concurrency-safe latency histogram.
type hist struct {
	mu       sync.Mutex
	counts   [histBuckets]uint64
	n        uint64
	sum      float64 // µs, for the mean
	min, max int64   // µs, exact
}

// histIndex returns the bucket of a value in µs (negative counts as 0).
func histIndex(v int64) int {
	if v < 2*histSub {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - (histSubBits + 1) // ≥ 1
	top := v >> shift                                  // in [histSub, 2×histSub)
	return 2*histSub + (shift-1)*histSub + int(top-histSub)
}

// histValue returns the midpoint of bucket i in µs (the value itself for
// the exact buckets).
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	top := int64((i-2*histSub)%histSub + histSub)
	lo := top << shift
	return lo + (int64(1)<<shift)/2
}

// Record adds one duration.
func (h *hist) Record(d time.Duration) {
	v := d.Microseconds()
	if v < 0 {
		v = 0
	}
	h.mu.Lock()
	h.counts[histIndex(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
	h.mu.Unlock()
}

// Count returns the number of recorded values.
func (h *hist) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the value at quantile q (0..1): the smallest bucket
// value with at least ceil(q×n) values at or below it, clamped to the
// exact minimum and maximum. It is 0 for an empty histogram.
func (h *hist) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.quantileLocked(q)
}

func (h *hist) quantileLocked(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			v := min(max(histValue(i), h.min), h.max)
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// latencySummary is the report's view of a histogram.
type latencySummary struct {
	Count uint64  `json:"count"`
	MinMS float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	P99MS float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	MaxMS float64 `json:"max_ms"`
}

// Summary returns count, mean and percentiles in milliseconds.
func (h *hist) Summary() latencySummary {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return latencySummary{}
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return latencySummary{
		Count: h.n,
		MinMS: float64(h.min) / 1000,
		Mean:  h.sum / float64(h.n) / 1000,
		P50MS: ms(h.quantileLocked(0.50)),
		P95MS: ms(h.quantileLocked(0.95)),
		P99MS: ms(h.quantileLocked(0.99)),
		P999:  ms(h.quantileLocked(0.999)),
		MaxMS: float64(h.max) / 1000,
	}
}
