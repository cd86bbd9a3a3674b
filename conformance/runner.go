package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/fakebill/toolkit/internal/syncbuf"
	"sort"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/fakebill/toolkit/fakebill"
)

// DefaultCallTimeout bounds each Call and Close when
// [Options.CallTimeout] is zero.
const DefaultCallTimeout = 10 * time.Second

const (
	// callBudget is how many requests one caller call may send before the
	// runner cancels it: far above any sane client, low enough that a
	// login loop ends in milliseconds.
	callBudget = 40
	// closeGrace is how long the runner waits past a call's deadline for a
	// client that ignores its context.
	closeGrace = time.Second
)

// BUG(fakebill): A Call that ignores its context and never returns is
// abandoned after the grace period and fails its check, but its goroutine
// lives on; inside a synctest bubble the bubble then cannot end, and the
// test panics instead of failing.

// runner is one check's run: a fresh fake, fresh credentials, a fresh
// client, and the findings. Its receiver is named r throughout.
type runner struct {
	ck       *check
	subject  Subject
	ctx      context.Context
	timeout  time.Duration
	virtual  bool // inside a testing/synctest bubble, reading time.Now
	creds    credentials
	fake     *fakebill.Server
	front    *front
	srv      *loopback
	mock     *clock.Mock
	env      Env
	log      *syncBuffer
	client   Client
	closed   bool
	closeErr error
	newErr   error // New's error, when the check's own fault caused it
	mark     int64 // highest seq lastSeq has seen

	mu       sync.Mutex
	errTexts []string // Error() of every error Call returned
	details  []string
	skipped  string
}

// outcome is one caller call as the runner saw it.
type outcome struct {
	path     string
	result   json.RawMessage
	err      error
	panicked any
	hung     bool  // did not return within the deadline and grace
	from, to int64 // journal seq range: entries with from < seq <= to
}

// runCheck runs ck against subject and returns its result.
func runCheck(ctx context.Context, ck *check, subject Subject, opts *Options, virtual bool) (res Result) {
	res = Result{Check: checkWithNeeds(ck)}
	if skip := missingCapability(ck, subject); skip != "" {
		res.Status, res.Details = Skip, []string{skip}
		return res
	}
	r := &runner{ck: ck, subject: subject, ctx: ctx, timeout: opts.callTimeout(), virtual: virtual}
	if err := r.setup(); err != nil {
		res.Status, res.Details = Fail, []string{r.redact("setup: " + err.Error())}
		r.teardown()
		return res
	}
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.failf("the check stopped: the client panicked: %v", p)
			}
		}()
		ck.run(r)
	}()
	r.close()
	if len(r.all()) == 0 && r.skipped == "" {
		// Every scenario calls; silence means the client talks to
		// something else, and no verdict above would mean anything.
		r.failf("no request reached the fake; the client must send its calls to Env.BaseURL through Env.HTTPClient")
	}
	if pr, ok := r.client.(ProblemReporter); ok {
		// Problems outside the calls (a crash, a protocol error, a try to
		// reach another host) come first: they explain what follows.
		var problems []string
		for _, p := range pr.Problems() {
			problems = append(problems, "the client failed outside its calls: "+p)
		}
		r.details = append(problems, r.details...)
	}
	r.teardown()

	switch {
	case len(r.details) > 0:
		res.Status = Fail
		res.Details = append(r.details, "expected: "+ck.Reason, "source: "+ck.Source)
	case r.skipped != "":
		res.Status, res.Details = Skip, []string{r.skipped}
	default:
		res.Status = Pass
	}
	for i, d := range res.Details {
		res.Details[i] = r.redact(d)
	}
	return res
}

func missingCapability(ck *check, s Subject) string {
	for _, n := range ck.Needs {
		switch {
		case n == CapConcurrent && !s.Concurrent:
			return "skipped: the client does not take concurrent calls (Subject.Concurrent is false; an adapter's hello said \"concurrent\": false)"
		case n == CapClose && s.NoClose:
			return "skipped: the client's Close does nothing worth checking (Subject.NoClose; an adapter's hello said \"close\": false)"
		}
	}
	return ""
}

func checkWithNeeds(ck *check) Check {
	c := ck.Check
	c.Needs = append([]Capability{CapCalls}, ck.Needs...)
	return c
}

// setup starts the fake and the client.
func (r *runner) setup() error {
	r.creds = newCredentials()
	var clk fakebill.Clock
	switch {
	case r.subject.UsesClock:
		r.mock = clock.NewMock()
		r.mock.Set(fakebill.DefaultStartTime)
		clk = r.mock
	case r.virtual:
		clk = fakebill.ClockFunc(time.Now)
	default:
		clk = fakebill.NewManualClock(fakebill.DefaultStartTime)
	}
	leaks := fakebill.LeakRecord
	if r.ck.refuseLeaks {
		leaks = fakebill.LeakRefuse
	}
	fake, err := fakebill.NewServer(fakebill.Options{
		Accounts: []fakebill.Account{{
			UserName: r.creds.userName, Password: r.creds.password,
			OrgID: r.creds.orgID, DevKey: r.creds.devKey,
		}},
		Clock: clk,
		Leaks: leaks,
	})
	if err != nil {
		return err
	}
	r.fake = fake
	r.front = &front{fake: fake}
	if r.virtual {
		r.srv = newInMemory(r.front)
	} else {
		r.srv = newSocket(r.front)
	}
	r.log = &syncBuffer{}
	r.env = Env{
		BaseURL:    r.srv.url + fakebill.DefaultPrefix,
		UserName:   r.creds.userName,
		Password:   r.creds.password,
		OrgID:      r.creds.orgID,
		DevKey:     r.creds.devKey,
		HTTPClient: r.srv.client,
		Clock:      r.mock,
		Log:        r.log,
	}
	if r.ck.before != nil {
		r.ck.before(r)
	}
	client, err := r.newClient()
	switch {
	case err != nil && r.ck.before != nil:
		// The check made the first login fail, and this client logs in
		// as it is built: the check judges the error.
		r.newErr = err
		r.noteErr(err)
		return nil
	case err != nil:
		return fmt.Errorf("Subject.New: %w", err)
	case client == nil:
		return fmt.Errorf("Subject.New returned a nil Client")
	}
	r.client = client
	return nil
}

// newClient calls Subject.New, turning a panic into an error.
func (r *runner) newClient() (c Client, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return r.subject.New(r.env)
}

// rebuild builds the client again after New failed on purpose.
func (r *runner) rebuild() bool {
	client, err := r.newClient()
	if err != nil || client == nil {
		r.failf("Subject.New failed again once logins were accepted: %v", err)
		return false
	}
	r.client = client
	return true
}

func (r *runner) teardown() {
	if r.fake != nil {
		r.fake.ClearFaults() // releases anything held at a barrier
	}
	if r.srv != nil {
		r.srv.close()
	}
}

// close closes the client once, bounded by the call deadline.
func (r *runner) close() {
	if r.closed || r.client == nil {
		return
	}
	r.closed = true
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("Close panicked: %v", p)
			}
		}()
		done <- r.client.Close()
	}()
	select {
	case r.closeErr = <-done:
	case <-time.After(r.timeout + closeGrace):
		r.failf("Close did not return within %v", r.timeout+closeGrace)
	}
	if r.closeErr != nil {
		r.noteErr(r.closeErr)
	}
}

// failf records a finding; the check fails if it has any.
func (r *runner) failf(format string, args ...any) {
	r.mu.Lock()
	r.details = append(r.details, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// skip marks the check skipped unless it has failed.
func (r *runner) skip(reason string) { r.skipped = "skipped: " + reason }

func (r *runner) noteErr(err error) {
	r.mu.Lock()
	r.errTexts = append(r.errTexts, err.Error())
	r.mu.Unlock()
}

// secrets returns everything that must not be shown: the credentials and
// every session id the fake minted in this run.
func (r *runner) secrets() secretSet {
	ss := secretSet{
		{"userName", r.creds.userName},
		{"password", r.creds.password},
		{"devKey", r.creds.devKey},
	}
	if r.front != nil {
		for _, id := range r.front.sessionIDs() {
			ss = append(ss, secret{"sessionId", id})
		}
	}
	return ss
}

func (r *runner) redact(s string) string { return r.secrets().redact(s) }

// advance moves the fake's time, and the client's when it shares the
// clock: the mock (whose timers fire), or virtual time in a bubble.
func (r *runner) advance(d time.Duration) {
	switch {
	case r.mock != nil:
		r.mock.Add(d)
	case r.virtual:
		time.Sleep(d)
	default:
		r.fake.Advance(d)
	}
}

// lastSeq is the highest seq journaled so far. It reads only entries
// past the previous answer, so 250-call scenarios stay linear.
func (r *runner) lastSeq() int64 {
	es, _ := r.fake.Journal(r.mark)
	for _, e := range es {
		r.mark = max(r.mark, e.Seq)
	}
	return r.mark
}

// entries returns the journal entries with from < seq <= to (to <= 0:
// no upper bound), in seq order.
func (r *runner) entries(from, to int64) []fakebill.Entry {
	es, _ := r.fake.Journal(from)
	out := es[:0:0]
	for _, e := range es {
		if e.Seq > from && (to <= 0 || e.Seq <= to) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// all returns every entry of this run.
func (r *runner) all() []fakebill.Entry { return r.entries(0, 0) }

// call runs one caller call with a deadline and a request budget.
func (r *runner) call(path string, data any) outcome {
	return r.calls(1, path, data)[0]
}

// calls runs n caller calls of path at once (one after the other when n
// is 1) and waits for all of them.
func (r *runner) calls(n int, path string, data any) []outcome {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	r.front.arm(callBudget*n, cancel)
	defer r.front.disarm()

	from := r.lastSeq()
	type answer struct {
		i        int
		result   json.RawMessage
		err      error
		panicked any
	}
	answers := make(chan answer, n) // buffered: an abandoned call never blocks
	for i := 0; i < n; i++ {
		go func(i int) {
			a := answer{i: i}
			defer func() {
				a.panicked = recover()
				answers <- a
			}()
			a.result, a.err = r.client.Call(ctx, path, data)
		}(i)
	}
	outs := make([]outcome, n)
	got := make([]bool, n)
	hung := false
	for left := n; left > 0 && !hung; {
		var a answer
		select {
		case a = <-answers:
		case <-ctx.Done():
			select {
			case a = <-answers:
			case <-time.After(closeGrace):
				hung = true // abandon them: the client ignores its context
				continue
			}
		}
		outs[a.i].result, outs[a.i].err, outs[a.i].panicked = a.result, a.err, a.panicked
		got[a.i] = true
		left--
	}
	to := r.lastSeq()
	for i := range outs {
		o := &outs[i]
		o.path, o.from, o.to = path, from, to
		if !got[i] {
			o.hung = true
			continue
		}
		if o.err != nil {
			r.noteErr(o.err)
		}
		if o.panicked != nil {
			r.noteErr(fmt.Errorf("%v", o.panicked))
		}
	}
	if hung {
		r.failf("Call(%q) did not return within %v of its deadline; a client must honour its context", path, closeGrace)
	}
	return outs
}

// setupCall makes a call the scenario needs to succeed before the part
// under test; it fails the check when it does not.
func (r *runner) setupCall(path string, data any) (outcome, bool) {
	o := r.call(path, data)
	if problem := r.callProblem(o); problem != "" {
		r.failf("a plain call before the scenario failed, so nothing else could be judged: %s\nrequests:\n%s", problem, r.show(r.entries(o.from, o.to)))
		return o, false
	}
	return o, true
}

// callProblem describes why o is not a success, or "".
func (r *runner) callProblem(o outcome) string {
	switch {
	case o.hung:
		return fmt.Sprintf("Call(%q) hung", o.path)
	case o.panicked != nil:
		return fmt.Sprintf("Call(%q) panicked: %v", o.path, o.panicked)
	case o.err != nil:
		return fmt.Sprintf("Call(%q) returned an error: %v", o.path, o.err)
	}
	return ""
}

// syncBuffer collects output written concurrently.
type syncBuffer = syncbuf.Buffer
