package fakebill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is a queued failure. Faults are matched in the order queued, first
// match wins, right after routing. A Fault holds requests at a barrier
// (Barrier), delays them (Delay, RealDelay), answers instead of the
// operation (Reply), or a combination, in that order.
//
// In JSON, as the control API takes it, Delay, RealDelay and the barrier's
// Timeout are Go duration strings: "delay":"2s".
type Fault struct {
	Match FaultMatch `json:"match"`

	// Reply, if set, is answered instead of running the operation.
	Reply *FaultReply `json:"reply,omitempty"`

	// Times the fault fires before it is used up; 0 means until cleared.
	Times int `json:"times,omitempty"`

	// Delay moves the server clock forward before answering; it needs a
	// movable clock.
	Delay time.Duration `json:"-"`

	// RealDelay waits this much wall time before answering.
	RealDelay time.Duration `json:"-"`

	// Barrier holds matching requests until N have arrived.
	Barrier *Barrier `json:"barrier,omitempty"`
}

// FaultMatch selects requests. Exactly one field is set. Path "*" matches
// every operation except Login and ListOrgs, which must be named.
type FaultMatch struct {
	Op      string `json:"op,omitempty"`      // "Login", "Crud/Read/Vendor"
	Path    string `json:"path,omitempty"`    // "List/Vendor.json" or "*"
	Session string `json:"session,omitempty"` // a session label: "session#3"
}

// FaultReply is what a fault answers: a BDC code in the v2 error envelope
// with the service's message (HTTP 200 unless Status is also set), or a
// bare HTTP status with a plain-text body, as an upstream proxy would
// send.
type FaultReply struct {
	Code   string `json:"code,omitempty"`
	Status int    `json:"status,omitempty"`
}

// Barrier holds every matching request until N have arrived, or Timeout of
// wall time has passed, then lets them all proceed. A zero Timeout means
// [DefaultBarrierTimeout].
type Barrier struct {
	N       int           `json:"n"`
	Timeout time.Duration `json:"-"`
}

// DefaultBarrierTimeout is how long a [Barrier] with no Timeout holds
// requests.
const DefaultBarrierTimeout = 10 * time.Second

// faultWire is a Fault as JSON requests carry it.
type faultWire struct {
	Match     FaultMatch   `json:"match"`
	Reply     *FaultReply  `json:"reply,omitempty"`
	Times     int          `json:"times,omitempty"`
	Delay     string       `json:"delay,omitempty"`
	RealDelay string       `json:"real_delay,omitempty"`
	Barrier   *barrierWire `json:"barrier,omitempty"`
}

type barrierWire struct {
	N       int    `json:"n"`
	Timeout string `json:"timeout,omitempty"`
}

// MarshalJSON encodes f as the control API takes it, durations as Go
// duration strings.
func (f Fault) MarshalJSON() ([]byte, error) {
	w := faultWire{Match: f.Match, Reply: f.Reply, Times: f.Times}
	if f.Delay != 0 {
		w.Delay = f.Delay.String()
	}
	if f.RealDelay != 0 {
		w.RealDelay = f.RealDelay.String()
	}
	if f.Barrier != nil {
		w.Barrier = &barrierWire{N: f.Barrier.N}
		if f.Barrier.Timeout != 0 {
			w.Barrier.Timeout = f.Barrier.Timeout.String()
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes a fault as the control API takes it, refusing
// unknown fields.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var w faultWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	nf := Fault{Match: w.Match, Reply: w.Reply, Times: w.Times}
	var err error
	if nf.Delay, err = parseDuration("delay", w.Delay); err != nil {
		return err
	}
	if nf.RealDelay, err = parseDuration("real_delay", w.RealDelay); err != nil {
		return err
	}
	if w.Barrier != nil {
		nf.Barrier = &Barrier{N: w.Barrier.N}
		if nf.Barrier.Timeout, err = parseDuration("timeout", w.Barrier.Timeout); err != nil {
			return err
		}
	}
	*f = nf
	return nil
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a Go duration such as \"2s\"", field, s)
	}
	return d, nil
}

// faultView is a queued Fault as the control API answers it.
type faultView struct {
	Match       FaultMatch   `json:"match"`
	Reply       *FaultReply  `json:"reply,omitempty"`
	Times       int          `json:"times"`
	DelayMS     int64        `json:"delay_ms,omitempty"`
	RealDelayMS int64        `json:"real_delay_ms,omitempty"`
	Barrier     *barrierView `json:"barrier,omitempty"`
}

type barrierView struct {
	N         int   `json:"n"`
	TimeoutMS int64 `json:"timeout_ms"`
}

// viewFault describes f for the control API, with any secret a client
// put in a match redacted.
func (s *Server) viewFault(f Fault) faultView {
	m := FaultMatch{Op: s.detector.Redact(f.Match.Op), Path: s.detector.Redact(f.Match.Path), Session: f.Match.Session}
	v := faultView{Match: m, Reply: f.Reply, Times: f.Times,
		DelayMS: f.Delay.Milliseconds(), RealDelayMS: f.RealDelay.Milliseconds()}
	if f.Barrier != nil {
		v.Barrier = &barrierView{N: f.Barrier.N, TimeoutMS: f.Barrier.Timeout.Milliseconds()}
	}
	return v
}

// matches reports whether m selects a request for op on the session with
// the given label.
func (m FaultMatch) matches(op, label string) bool {
	switch {
	case m.Op != "":
		return m.Op == op
	case m.Path == "*":
		return op != "Login" && op != "ListOrgs"
	case m.Path != "":
		p := strings.TrimPrefix(m.Path, "/")
		return strings.TrimSuffix(p, ".json") == op
	case m.Session != "":
		return label != "" && m.Session == label
	}
	return false
}

// ErrBadFault wraps every reason [Server.AddFault] refuses a fault for,
// except [ErrClockNotMovable].
var ErrBadFault = errors.New("fakebill: bad fault")

// validate checks f and fills its defaults.
func (s *Server) validate(f *Fault) error {
	set := 0
	for _, v := range []string{f.Match.Op, f.Match.Path, f.Match.Session} {
		if v != "" {
			set++
		}
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadFault, why) }
	switch {
	case set != 1:
		return bad("match needs exactly one of op, path, session")
	case f.Match.Session != "" && !isLabel(f.Match.Session, "session"):
		// Only a label can match, and anything else, such as a raw
		// session id, must not be stored and listed.
		return bad(`match session: want a label such as "session#3"`)
	case f.Times < 0:
		return bad("times is negative")
	case f.Delay < 0 || f.RealDelay < 0:
		return bad("delay is negative")
	case f.Reply == nil && f.Barrier == nil && f.Delay == 0 && f.RealDelay == 0:
		return bad("fault does nothing: give reply, barrier, delay or real_delay")
	}
	if r := f.Reply; r != nil {
		switch {
		case r.Code == "" && r.Status == 0:
			return bad("reply needs a code or a status")
		case r.Code != "" && Message(r.Code) == "":
			return bad("unknown code " + r.Code)
		case r.Status != 0 && (r.Status < 200 || r.Status > 599):
			return bad("reply status out of range 200-599")
		}
	}
	if b := f.Barrier; b != nil {
		if b.N < 1 || b.Timeout < 0 {
			return bad("barrier needs n >= 1 and a non-negative timeout")
		}
		if b.Timeout == 0 {
			b.Timeout = DefaultBarrierTimeout
		}
	}
	if _, ok := s.clock.(MovableClock); f.Delay > 0 && !ok {
		return fmt.Errorf("delay: %w", ErrClockNotMovable)
	}
	return nil
}

// faultQueue holds the queued faults.
type faultQueue struct {
	mu   sync.Mutex
	list []*queued
	// cleared closes when the faults are next cleared, releasing every
	// request a fault holds, including one whose fault has since left
	// the queue (its times used up). nil until a fault is taken.
	cleared chan struct{}
}

// queued is a fault in the queue with its remaining uses and the state of
// its barrier.
type queued struct {
	Fault
	forever bool
	gen     *barrierGen
}

// barrierGen is one group of requests waiting at a barrier.
type barrierGen struct {
	arrived int
	release chan struct{}
	timer   *time.Timer
}

func (g *barrierGen) open() {
	if g.timer != nil {
		g.timer.Stop()
	}
	close(g.release)
}

// AddFault queues f. It returns an error wrapping [ErrBadFault] for an
// invalid fault, and [ErrClockNotMovable] for a Delay on a clock that
// cannot move.
func (s *Server) AddFault(f Fault) error {
	if f.Barrier != nil {
		b := *f.Barrier
		f.Barrier = &b
	}
	if f.Reply != nil {
		r := *f.Reply
		f.Reply = &r
	}
	if err := s.validate(&f); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.list = append(s.faults.list, &queued{Fault: f, forever: f.Times == 0})
	s.faults.mu.Unlock()
	return nil
}

// Faults lists the queued faults; Times is what each has left (0: until
// cleared).
func (s *Server) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make([]Fault, len(s.faults.list))
	for i, q := range s.faults.list {
		out[i] = q.Fault
	}
	return out
}

// BUG(fakebill): A Server has no Close of its own. A request a fault holds
// keeps a shutdown that waits for requests in flight (httptest's Close,
// http.Server's Shutdown without a cancelled BaseContext) waiting until
// its barrier times out or its RealDelay ends; call [Server.ClearFaults]
// before shutting down.

// ClearFaults removes every queued fault and at once releases every
// request a fault is holding at a barrier or in a RealDelay, whether or
// not its fault is still queued. A released request skips the rest of
// its fault (delay and reply) and goes on as if no fault had matched:
// it runs the operation, and its journal note says it was released.
// After [Server.Reset], which clears the faults, that operation finds no
// session and answers BDC_1109 (Login and ListOrgs run as usual).
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for _, q := range s.faults.list {
		if q.gen != nil {
			q.gen.open()
			q.gen = nil
		}
	}
	s.faults.list = nil
	if s.faults.cleared != nil {
		close(s.faults.cleared)
		s.faults.cleared = nil
	}
}

// take finds the first fault matching the request and uses it once. For
// a barrier it enrolls the request: the gate closes when the request may
// go on. cleared closes when the faults are next cleared.
func (s *Server) take(op, label string) (f *Fault, gate, cleared <-chan struct{}) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for i, q := range s.faults.list {
		if !q.Match.matches(op, label) {
			continue
		}
		if !q.forever {
			q.Times--
			if q.Times == 0 {
				s.faults.list = append(s.faults.list[:i:i], s.faults.list[i+1:]...)
			}
		}
		if s.faults.cleared == nil {
			s.faults.cleared = make(chan struct{})
		}
		f := q.Fault
		if f.Barrier == nil {
			return &f, nil, s.faults.cleared
		}
		return &f, q.enroll(&s.faults.mu), s.faults.cleared
	}
	return nil, nil, nil
}

// enroll adds a request to the barrier's current group, opening the group
// when it is full or its timeout passes. The caller holds mu, the queue
// lock, which the timeout also takes, so a group opens exactly once.
func (q *queued) enroll(mu *sync.Mutex) <-chan struct{} {
	g := q.gen
	if g == nil {
		g = &barrierGen{release: make(chan struct{})}
		q.gen = g
		g.timer = time.AfterFunc(q.Barrier.Timeout, func() {
			mu.Lock()
			defer mu.Unlock()
			if q.gen == g {
				q.gen = nil
				close(g.release)
			}
		})
	}
	g.arrived++
	if g.arrived >= q.Barrier.N {
		g.open()
		q.gen = nil
	}
	return g.release
}

// applyFaults runs the first fault matching x, if any, and reports whether
// it answered the request.
func (s *Server) applyFaults(x *exchange) bool {
	s.faults.mu.Lock()
	none := len(s.faults.list) == 0
	s.faults.mu.Unlock()
	if none {
		return false
	}
	label := ""
	if x.sessionID != "" {
		if n, ok := s.sessions.Minted(x.sessionID); ok {
			label = sessionLabel(n)
		}
	}
	f, gate, cleared := s.take(x.op, label)
	if f == nil {
		return false
	}
	x.entry.Note = "injected fault"
	if gate != nil {
		x.entry.Note += ": barrier"
	}
	if !s.hold(x, f, gate, cleared) {
		x.entry.Note += ": released when faults were cleared"
		return false
	}
	if f.Reply == nil {
		return false
	}
	x.now = s.now()
	s.lookupSession(x)
	s.injectReply(x, f.Reply)
	return true
}

// hold keeps a request at the fault's barrier, then moves the server
// clock by Delay and waits RealDelay, or less if the request ends. It
// reports false, at once, if the faults are cleared meanwhile: the
// request is then to go on as if no fault had matched.
func (s *Server) hold(x *exchange, f *Fault, gate, cleared <-chan struct{}) bool {
	ctx := x.r.Context()
	if gate != nil {
		select {
		case <-gate:
		case <-cleared:
		case <-ctx.Done():
		}
	}
	select {
	case <-cleared:
		return false
	default:
	}
	if f.Delay > 0 && s.Advance(f.Delay) != nil {
		x.entry.Note += ": delay not applied, it would move the clock past 2200-01-01"
	}
	if f.RealDelay > 0 {
		t := time.NewTimer(f.RealDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-cleared:
			return false
		case <-ctx.Done():
		}
	}
	return true
}

// injectReply answers x as the fault says: a v2 error envelope, or a bare
// status with plain text. An injected BDC_1109 ends the session it hit.
func (s *Server) injectReply(x *exchange, r *FaultReply) {
	if r.Code == "" {
		x.entry.Note += fmt.Sprintf(": reply HTTP %d", r.Status)
		s.writeRaw(x, r.Status, "text/plain; charset=utf-8", []byte(http.StatusText(r.Status)+"\n"))
		return
	}
	if r.Code == CodeSessionInvalid {
		if x.sessionID != "" {
			s.sessions.End(x.sessionID)
		}
		if x.hadCookie {
			clearCookie(x.w)
		}
	}
	x.entry.Note += ": reply " + r.Code
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	s.fail(x, status, r.Code, "")
}
