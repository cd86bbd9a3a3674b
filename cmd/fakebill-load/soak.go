package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// soakConfig shapes a soak run: cycles of making sessions, letting them
// expire and checking that the server gives their memory back.
type soakConfig struct {
	sessions    int
	cycles      int
	clients     int
	duration    time.Duration
	idleTimeout time.Duration // the server's; the clock moves past twice it
	tolerance   float64       // share of the sessions' heap that may stay
	acct        account
}

// soakCycle is one cycle's heap readings, in bytes.
type soakCycle struct {
	Sessions     int     `json:"sessions"`
	Baseline     uint64  `json:"baseline"`
	Peak         uint64  `json:"with_sessions"`
	After        uint64  `json:"after_sweep"`
	PerSession   float64 `json:"bytes_per_session"`
	Retained     float64 `json:"retained_share"` // (after-baseline)/(peak-baseline)
	LiveAfter    int     `json:"live_after"`
	MakeSeconds  float64 `json:"make_seconds"`
	SweepSeconds float64 `json:"sweep_seconds"`
}

// soakReport is the soak part of a report.
type soakReport struct {
	Cycles    []soakCycle `json:"cycles"`
	Tolerance float64     `json:"tolerance"`
	Returned  bool        `json:"returned"` // every cycle within tolerance
}

// runSoak runs up to cfg.cycles cycles, stopping early when cfg.duration
// is spent (a cycle under way still expires and measures its sessions).
// Every cycle is judged against the first baseline, so that memory kept
// from one cycle to the next shows.
func runSoak(ctx context.Context, t *target, cfg soakConfig) (*report, error) {
	rep := &report{Mode: "soak", URL: t.base, Clients: cfg.clients, Outcomes: map[string]int64{}}
	sr := &soakReport{Tolerance: cfg.tolerance, Returned: true}
	rep.Soak = sr
	first, err := t.heap(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats before the soak: %w", err)
	}
	rep.Before = first
	start := time.Now()
	makeCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	for c := 0; c < cfg.cycles && makeCtx.Err() == nil; c++ {
		cy := soakCycle{Baseline: first.HeapInuseBytes}
		t0 := time.Now()
		n, err := loginMany(makeCtx, t, cfg.acct, cfg.sessions, cfg.clients)
		cy.Sessions = n
		cy.MakeSeconds = time.Since(t0).Seconds()
		rep.Requests += int64(n)
		rep.Outcomes[kindOK] += int64(n)
		if err != nil && makeCtx.Err() == nil {
			rep.Unexpected++
			rep.Errors = append(rep.Errors, err.Error())
		}
		if n == 0 {
			break
		}

		peak, err := t.heap(ctx)
		if err != nil {
			return nil, err
		}
		cy.Peak = peak.HeapInuseBytes

		// Past twice the idle timeout: expired sessions first become
		// tombstones, which are freed one idle timeout later.
		t1 := time.Now()
		if err := t.advance(ctx, 2*cfg.idleTimeout+time.Minute); err != nil {
			return nil, fmt.Errorf("move the clock: %w", err)
		}
		rep.ClockMoves++
		if err := sweep(ctx, t, cfg.acct); err != nil {
			return nil, err
		}
		cy.SweepSeconds = time.Since(t1).Seconds()
		after, err := t.heap(ctx)
		if err != nil {
			return nil, err
		}
		cy.After, cy.LiveAfter = after.HeapInuseBytes, after.LiveSessions
		rep.After = after
		cy.judge()
		if cy.Retained > cfg.tolerance {
			sr.Returned = false
		}
		sr.Cycles = append(sr.Cycles, cy)
	}
	rep.Seconds = time.Since(start).Seconds()
	if rep.Seconds > 0 {
		rep.Throughput = float64(rep.Requests) / rep.Seconds
	}
	if len(sr.Cycles) == 0 {
		sr.Returned = false
	}
	return rep, nil
}

// judge computes the per-session cost and the share of it left behind.
func (c *soakCycle) judge() {
	grew := float64(c.Peak) - float64(c.Baseline)
	if c.Sessions > 0 {
		c.PerSession = grew / float64(c.Sessions)
	}
	kept := float64(c.After) - float64(c.Baseline)
	if grew > 0 {
		c.Retained = kept / grew
	} else if kept > 0 {
		c.Retained = 1
	}
}

// sweep makes the server look at the time: a login sweeps a few of the
// sessions that are due, the logout leaves the table as it was, and the
// stats read that follows counts live sessions, sweeping the rest.
func sweep(ctx context.Context, t *target, a account) error {
	status, body, err := t.post(ctx, "Login.json", "", loginForm(a))
	env, kind, err := classify(status, body, err)
	if kind != kindOK {
		return fmt.Errorf("sweep login: %s: %v", kind, err)
	}
	form := url.Values{"devKey": {a.DevKey}, "sessionId": {env.Data.SessionID}}
	status, body, err = t.post(ctx, "Logout.json", "", form)
	if _, kind, err := classify(status, body, err); kind != kindOK {
		return fmt.Errorf("sweep logout: %s: %v", kind, err)
	}
	return nil
}

func (s *soakReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "  soak cycles (tolerance %.0f%% of the sessions' heap):\n", s.Tolerance*100)
	for i, c := range s.Cycles {
		fmt.Fprintf(w, "    %d: %d sessions in %.1fs: heap %s -> %s (%.0f B/session) -> %s after sweep (%.1f%% retained, %d live)\n",
			i+1, c.Sessions, c.MakeSeconds, mib(c.Baseline), mib(c.Peak), c.PerSession, mib(c.After), c.Retained*100, c.LiveAfter)
	}
}
