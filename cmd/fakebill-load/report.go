package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// report is what a run found; -json writes it as is.
type report struct {
	Mode       string                 `json:"mode"` // "load" or "soak"
	URL        string                 `json:"url"`
	Clients    int                    `json:"clients"`
	Requests   int64                  `json:"requests"`
	Seconds    float64                `json:"seconds"`
	Throughput float64                `json:"requests_per_second"`
	Latency    map[string]percentiles `json:"latency_ms,omitempty"` // by operation, and "all"
	Outcomes   map[string]int64       `json:"outcomes"`             // by kind
	Unexpected int64                  `json:"unexpected_errors"`
	Errors     []string               `json:"errors,omitempty"` // the first few unexpected ones
	ClockMoves int64                  `json:"clock_moves"`
	Before     stats                  `json:"before"`
	After      stats                  `json:"after"`
	Soak       *soakReport            `json:"soak,omitempty"`
}

// fill computes the figures from the samples of a run that took elapsed.
func (r *report) fill(samples []sample, elapsed time.Duration) {
	r.Seconds = elapsed.Seconds()
	r.Outcomes = map[string]int64{}
	byOp := map[string][]time.Duration{}
	for _, s := range samples {
		r.Outcomes[s.kind]++
		if !expectedKinds[s.kind] {
			r.Unexpected++
		}
		if s.op == "advance" {
			continue
		}
		r.Requests++
		byOp[s.op] = append(byOp[s.op], s.took)
		byOp["all"] = append(byOp["all"], s.took)
	}
	if r.Seconds > 0 {
		r.Throughput = float64(r.Requests) / r.Seconds
	}
	r.Latency = map[string]percentiles{}
	for op, d := range byOp {
		r.Latency[op] = summarize(d)
	}
}

// ok reports whether the run met its bar: no unexpected error and, in
// soak mode, the heap back near its baseline.
func (r *report) ok() bool {
	return r.Unexpected == 0 && (r.Soak == nil || r.Soak.Returned)
}

// writeText prints the report for a person.
func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "fakebill-load %s against %s\n", r.Mode, r.URL)
	if r.Mode == "load" {
		fmt.Fprintf(w, "  %d requests from %d clients in %.2fs: %.0f requests/s, %d clock moves\n",
			r.Requests, r.Clients, r.Seconds, r.Throughput, r.ClockMoves)
		fmt.Fprintf(w, "  latency ms      %8s %8s %8s %8s %8s\n", "n", "p50", "p90", "p99", "max")
		for _, op := range slices.Sorted(maps.Keys(r.Latency)) {
			p := r.Latency[op]
			fmt.Fprintf(w, "    %-12s  %8d %8.3f %8.3f %8.3f %8.3f\n", op, p.N, p.P50, p.P90, p.P99, p.Max)
		}
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(r.Outcomes)) {
			mark := ""
			if !expectedKinds[k] {
				mark = " (unexpected)"
			}
			kinds = append(kinds, fmt.Sprintf("%s=%d%s", k, r.Outcomes[k], mark))
		}
		fmt.Fprintf(w, "  outcomes: %s\n", strings.Join(kinds, ", "))
	}
	fmt.Fprintf(w, "  server heap in use: %s before, %s after (live sessions %d -> %d, peak %d, journal dropped %d)\n",
		mib(r.Before.HeapInuseBytes), mib(r.After.HeapInuseBytes),
		r.Before.LiveSessions, r.After.LiveSessions, r.After.PeakSessions, r.After.Dropped)
	if s := r.Soak; s != nil {
		s.writeText(w)
	}
	fmt.Fprintf(w, "  unexpected errors: %d\n", r.Unexpected)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "    %s\n", e)
	}
	if r.ok() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
