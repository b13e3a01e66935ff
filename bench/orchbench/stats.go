package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBuckets is the number of histogram buckets per power of two (a power of two itself).
const (
	subBits    = 4
	subBuckets = 1 << subBits
	numBuckets = 64 * subBuckets
)

// stat counts calls of one method and how long they took. The histogram has 16 buckets per
// power of two, so quantiles are good to about ±3%.
type stat struct {
	n, ns, max atomic.Int64
	hist       [numBuckets]atomic.Int64
}

func bucket(ns int64) int {
	if ns < subBuckets {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // ≥ subBits
	m := (ns >> (e - subBits)) & (subBuckets - 1)
	return (e-subBits+1)*subBuckets + int(m)
}

// bucketMid is a value inside bucket i (the middle of its range).
func bucketMid(i int) float64 {
	if i < subBuckets {
		return float64(i)
	}
	e, m := i/subBuckets+subBits-1, i%subBuckets
	lo := float64(int64(subBuckets+m) << (e - subBits))
	width := float64(int64(1) << (e - subBits))
	return lo + width/2
}

func (s *stat) add(d time.Duration) {
	ns := int64(d)
	s.n.Add(1)
	s.ns.Add(ns)
	for {
		old := s.max.Load()
		if ns <= old || s.max.CompareAndSwap(old, ns) {
			break
		}
	}
	s.hist[bucket(ns)].Add(1)
}

// statOut is a stat as the child reports it (milliseconds).
type statOut struct {
	N       int64   `json:"n"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
	P50MS   float64 `json:"p50_ms"`
	P99MS   float64 `json:"p99_ms"`
	MaxMS   float64 `json:"max_ms"`
}

func (s *stat) out() statOut {
	o := statOut{N: s.n.Load(), TotalMS: float64(s.ns.Load()) / 1e6, MaxMS: float64(s.max.Load()) / 1e6}
	if o.N == 0 {
		return o
	}
	o.MeanMS = o.TotalMS / float64(o.N)
	var counts [numBuckets]int64
	var total int64
	for i := range s.hist {
		counts[i] = s.hist[i].Load()
		total += counts[i]
	}
	q := func(p float64) float64 {
		want := int64(p*float64(total-1)) + 1
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= want {
				return bucketMid(i) / 1e6
			}
		}
		return o.MaxMS
	}
	o.P50MS, o.P99MS = q(0.50), q(0.99)
	return o
}
