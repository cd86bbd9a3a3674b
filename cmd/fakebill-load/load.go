package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// account is the login the clients use.
type account struct {
	UserName, Password, OrgID, DevKey string
}

// demo is fakebill's published demo account, the default.
var demo = account{"demo@example.com", "demo-password", "00800000000000000001", "demo-dev-key"}

// loadConfig bounds and shapes a load run.
type loadConfig struct {
	clients       int
	requests      int64         // API requests in all, the run's bound
	duration      time.Duration // the run's other bound
	callsPerLogin int           // calls before a client logs out and in again; 0: never
	leakFraction  float64       // calls sent with ?sessionId= in the URL
	advanceEvery  int64         // requests between clock moves; 0: never
	advanceBy     time.Duration // how far each move goes
	idleSessions  int           // sessions made before the run and never used
	think         time.Duration // pause between one client's requests
	acct          account
	seed          uint64
}

// Operations a request can be, as the report names them.
const (
	opLogin  = "login"
	opCall   = "call"
	opLeak   = "leak"
	opLogout = "logout"
)

// Outcome kinds. Expected ones are what the run provokes on purpose; any
// other kind counts as an unexpected error.
const (
	kindOK           = "ok"
	kindExpired      = "expired"       // BDC_1109 after the clock moved
	kindLeakRefused  = "leak_refused"  // 400 FAKEBILL_SECRET_IN_URL, session ended
	kindLeakRecorded = "leak_recorded" // a server in -leaks record mode
)

var expectedKinds = map[string]bool{kindOK: true, kindExpired: true, kindLeakRefused: true, kindLeakRecorded: true}

// calls are the operations a client calls in turn.
var calls = []string{"GetSessionInfo.json", "Crud/Read/Vendor.json", "List/Vendor.json"}

// sample is one request's operation, outcome and latency.
type sample struct {
	op   string
	kind string
	took time.Duration
}

// loadRun is the shared state of one run.
type loadRun struct {
	cfg    loadConfig
	t      *target
	ticket atomic.Int64 // requests claimed
	epoch  atomic.Int64 // bumped before and after each clock move
	moves  atomic.Int64

	mu      sync.Mutex
	samples []sample
	errs    []string // the first few unexpected errors, with no secret
}

// maxErrs is how many unexpected errors the report quotes.
const maxErrs = 10

// runLoad drives t with cfg.clients concurrent clients until the request
// or time bound is reached.
func runLoad(ctx context.Context, t *target, cfg loadConfig) (*report, error) {
	rep := &report{Mode: "load", URL: t.base, Clients: cfg.clients}
	before, err := t.heap(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats before the run: %w", err)
	}
	rep.Before = before

	r := &loadRun{cfg: cfg, t: t}
	if err := r.makeIdle(ctx); err != nil {
		return nil, err
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Go(func() { r.client(runCtx, i) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	after, err := t.heap(ctx)
	if err != nil {
		return nil, fmt.Errorf("stats after the run: %w", err)
	}
	rep.After = after
	rep.ClockMoves = r.moves.Load()
	rep.fill(r.samples, elapsed)
	rep.Errors = r.errs
	return rep, nil
}

// makeIdle logs in cfg.idleSessions times, so that the run meets a table
// that holds sessions nobody uses.
func (r *loadRun) makeIdle(ctx context.Context) error {
	n, err := loginMany(ctx, r.t, r.cfg.acct, r.cfg.idleSessions, r.cfg.clients)
	if err != nil {
		return fmt.Errorf("idle sessions: %d of %d made: %w", n, r.cfg.idleSessions, err)
	}
	return nil
}

// claim takes the next request ticket; false once the bound is reached.
// The client that takes a multiple of advanceEvery moves the clock.
func (r *loadRun) claim(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	n := r.ticket.Add(1)
	if n > r.cfg.requests {
		return false
	}
	if e := r.cfg.advanceEvery; e > 0 && n%e == 0 {
		r.epoch.Add(1)
		if err := r.t.advance(ctx, r.cfg.advanceBy); err != nil {
			r.record(sample{op: "advance", kind: "advance_failed"}, err)
		} else {
			r.moves.Add(1)
		}
		r.epoch.Add(1)
	}
	return true
}

// client is one simulated API client: it logs in, calls, sometimes leaks
// its session id into a URL, logs out now and then, and logs in again
// whenever its session is gone.
func (r *loadRun) client(ctx context.Context, n int) {
	rng := rand.New(rand.NewPCG(r.cfg.seed, uint64(n)))
	var local []sample
	defer func() {
		r.mu.Lock()
		r.samples = append(r.samples, local...)
		r.mu.Unlock()
	}()
	var (
		sid      string
		okEpoch  int64 // epoch read before the last request that used sid successfully
		sinceLog int
	)
	for r.claim(ctx) {
		if r.cfg.think > 0 {
			select {
			case <-time.After(r.cfg.think):
			case <-ctx.Done():
				return
			}
		}
		epoch := r.epoch.Load()
		var s sample
		var err error
		switch {
		case sid == "":
			s, sid, err = r.login(ctx)
			okEpoch, sinceLog = epoch, 0
		case r.cfg.callsPerLogin > 0 && sinceLog >= r.cfg.callsPerLogin:
			s, err = r.call(ctx, opLogout, "Logout.json", "", sid, okEpoch)
			sid = ""
		case rng.Float64() < r.cfg.leakFraction:
			s, err = r.call(ctx, opLeak, calls[rng.IntN(len(calls))], "sessionId="+url.QueryEscape(sid), sid, okEpoch)
			if s.kind == kindLeakRefused {
				sid = "" // the server ended it
			}
		default:
			s, err = r.call(ctx, opCall, calls[rng.IntN(len(calls))], "", sid, okEpoch)
			sinceLog++
		}
		switch s.kind {
		case kindOK, kindLeakRecorded:
			okEpoch = epoch
		case kindExpired:
			sid = ""
		}
		if ctx.Err() != nil && err != nil {
			return // the time bound cut this request short; not the server's fault
		}
		local = append(local, s)
		if !expectedKinds[s.kind] {
			r.record(s, err)
			sid = ""
		}
	}
}

// record keeps the first few unexpected errors for the report.
func (r *loadRun) record(s sample, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.op == "advance" {
		r.samples = append(r.samples, s)
	}
	if len(r.errs) < maxErrs {
		msg := s.op + ": " + s.kind
		if err != nil {
			msg += ": " + err.Error()
		}
		r.errs = append(r.errs, msg)
	}
}

// v2 is the part of the v2 envelope the clients read.
type v2 struct {
	Status int             `json:"response_status"`
	Raw    json.RawMessage `json:"response_data"`
	Data   struct {
		SessionID string `json:"sessionId"`
		Code      string `json:"error_code"`
	} `json:"-"` // from Raw when it is an object (List/ answers are arrays)
}

// login logs in once and returns the new session id.
func (r *loadRun) login(ctx context.Context) (sample, string, error) {
	start := time.Now()
	status, body, err := r.t.post(ctx, "Login.json", "", loginForm(r.cfg.acct))
	s := sample{op: opLogin, took: time.Since(start)}
	env, kind, err := classify(status, body, err)
	s.kind = kind
	if kind == kindOK && env.Data.SessionID == "" {
		s.kind, err = "no_session_id", errors.New("login answered success without a sessionId")
	}
	return s, env.Data.SessionID, err
}

// call sends one call with session sid; query, if not empty, is put in
// the URL. okEpoch tells whether a BDC_1109 was provoked by a clock move.
func (r *loadRun) call(ctx context.Context, op, path, query, sid string, okEpoch int64) (sample, error) {
	form := url.Values{"devKey": {r.cfg.acct.DevKey}, "sessionId": {sid}}
	if path != "Logout.json" && path != "GetSessionInfo.json" {
		form.Set("data", `{"id":"00901000000000000001"}`)
	}
	start := time.Now()
	status, body, err := r.t.post(ctx, path, query, form)
	s := sample{op: op, took: time.Since(start)}
	env, kind, err := classify(status, body, err)
	s.kind = kind
	switch {
	case kind == "BDC_1109" && r.clockMoved(okEpoch):
		s.kind = kindExpired
	case op == opLeak && status == http.StatusBadRequest && env.Data.Code == "FAKEBILL_SECRET_IN_URL":
		s.kind, err = kindLeakRefused, nil
	case op == opLeak && kind == kindOK:
		s.kind = kindLeakRecorded
	}
	return s, err
}

// clockMoved reports whether the clock may have moved since a request
// that read epoch since was sent: a move has started or ended since, or
// one is under way (the epoch is odd from the start of a move to its end).
func (r *loadRun) clockMoved(since int64) bool {
	now := r.epoch.Load()
	return now != since || now%2 == 1
}

// classify names the outcome of a v2 request: ok, a BDC or FAKEBILL
// code, an HTTP status, or a transport or decoding failure.
func classify(status int, body []byte, err error) (v2, string, error) {
	var env v2
	if err != nil {
		return env, "transport", scrub(err)
	}
	if jerr := json.Unmarshal(body, &env); jerr != nil || len(env.Raw) == 0 {
		return env, fmt.Sprintf("http_%d", status), fmt.Errorf("HTTP %d, body not the v2 envelope", status)
	}
	if env.Raw[0] == '{' {
		json.Unmarshal(env.Raw, &env.Data)
	}
	switch {
	case env.Status == 0 && status == http.StatusOK:
		return env, kindOK, nil
	case env.Data.Code != "":
		return env, env.Data.Code, fmt.Errorf("HTTP %d, %s", status, env.Data.Code)
	}
	return env, fmt.Sprintf("http_%d", status), fmt.Errorf("HTTP %d", status)
}

// scrub drops the URL from a transport error: a leak request's URL holds
// a session id.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func loginForm(a account) url.Values {
	return url.Values{"userName": {a.UserName}, "password": {a.Password}, "orgId": {a.OrgID}, "devKey": {a.DevKey}}
}

// loginMany logs in n times from workers goroutines and returns how many
// succeeded; it stops at the first failure.
func loginMany(ctx context.Context, t *target, a account, n, workers int) (int, error) {
	var next, done atomic.Int64
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				status, body, err := t.post(ctx, "Login.json", "", loginForm(a))
				env, kind, err := classify(status, body, err)
				if kind != kindOK || env.Data.SessionID == "" {
					once.Do(func() { first = fmt.Errorf("login: %s: %v", kind, err); cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil && done.Load() < int64(n) {
		first = ctx.Err()
	}
	return int(done.Load()), first
}

// percentiles summarises latencies in milliseconds.
type percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func summarize(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(q*float64(len(d)-1) + 0.5)
		return float64(d[i]) / float64(time.Millisecond)
	}
	return percentiles{N: len(d), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: at(1)}
}
