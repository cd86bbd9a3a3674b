package fakebill

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fakebill/toolkit/internal/leak"
	"github.com/fakebill/toolkit/internal/session"
)

// Server is the fake Bill.com v2 API: an [http.Handler] serving the API
// under its prefix and the control API under /_fakebill, plus a Go API
// for tests to drive its clock, sessions, faults, fixtures and journal.
// It opens no socket of its own; serve it with net/http or sessiontest.
// A Server is safe for concurrent use.
type Server struct {
	opts          Options
	prefix        string
	accounts      []Account // account#N is accounts[N-1]
	accountLabels []string  // "account#N" is accountLabels[N-1]
	byUser        map[string][]int
	devKeys       map[string]bool
	credVals      []credValues // account#N's are credVals[N-1]
	allCreds      []credValues // every distinct account's, for a call naming none
	sessions      *session.Table
	detector      *leak.Detector
	clock         Clock
	clockMode     string
	start         time.Time // the clock's reading at NewServer, for Reset
	clockMu       sync.Mutex

	journal  journal
	faults   faultQueue
	fixtures fixtureSet
	control  http.Handler

	logins atomic.Int64
	calls  atomic.Int64
}

// Clock modes [Server.ClockMode] reports.
const (
	clockReal     = "real"
	clockManual   = "manual"
	clockInjected = "injected"
)

// NewServer returns a Server configured by opts. It fails on an invalid
// configuration: a duplicate or incomplete account, a bad prefix or mode,
// or a clock that reads outside the supported range ([ErrClockRange]).
func NewServer(opts Options) (*Server, error) {
	if err := normalize(&opts); err != nil {
		return nil, err
	}
	s := &Server{opts: opts, prefix: opts.Prefix, clock: opts.Clock}
	if err := s.setAccounts(opts.Accounts); err != nil {
		return nil, err
	}
	switch s.clock.(type) {
	case *OffsetClock:
		s.clockMode = clockReal
	case *ManualClock:
		s.clockMode = clockManual
	default:
		s.clockMode = clockInjected
	}
	s.start = s.clock.Now()
	if !inClockRange(s.start) {
		return nil, fmt.Errorf("fakebill: clock reads %s: %w", s.start.UTC().Format(time.RFC3339), ErrClockRange)
	}

	tbl, err := session.New(session.Config{IdleTimeout: opts.IdleTimeout, Max: opts.MaxSessions})
	if err != nil {
		return nil, fmt.Errorf("fakebill: session table: %w", err)
	}
	s.sessions = tbl
	secrets := s.secrets()
	s.detector = leak.New(secrets, func(id string) bool {
		_, ok := tbl.Minted(id)
		return ok
	})
	s.warnShortSecrets(secrets)

	s.journal.init(opts.JournalSize, opts.JournalWriter)
	s.fixtures.init()
	s.control = s.newControl()
	return s, nil
}

// normalize fills the defaults of opts and checks its values.
func normalize(o *Options) error {
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Leaks == "" {
		o.Leaks = LeakRefuse
	}
	if o.Refresh == "" {
		o.Refresh = RefreshAny
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.JournalSize == 0 {
		o.JournalSize = DefaultJournalSize
	}
	if o.Clock == nil {
		o.Clock = &OffsetClock{}
	}
	if len(o.Accounts) == 0 {
		o.Accounts = []Account{DemoAccount}
	}

	switch {
	case o.IdleTimeout < 0:
		return errors.New("fakebill: negative idle timeout")
	case o.MaxSessions < 0:
		return errors.New("fakebill: negative session cap")
	case o.MaxBody < 0:
		return errors.New("fakebill: negative body limit")
	case o.JournalSize < 0:
		return errors.New("fakebill: negative journal size")
	case o.Leaks != LeakRefuse && o.Leaks != LeakRecord:
		return fmt.Errorf("fakebill: unknown leak mode %q (want refuse or record)", o.Leaks)
	case o.Refresh != RefreshAny && o.Refresh != RefreshSuccess:
		return fmt.Errorf("fakebill: unknown refresh mode %q (want any or success)", o.Refresh)
	}

	p := strings.TrimRight(o.Prefix, "/")
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, "?#") ||
		p == controlPrefix || strings.HasPrefix(p, controlPrefix+"/") {
		return fmt.Errorf("fakebill: bad prefix %q (want a path such as /api/v2)", o.Prefix)
	}
	o.Prefix = p

	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("fakebill: bad public URL (want an absolute http or https URL)")
		}
		o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	}
	return nil
}

// setAccounts checks and stores the accounts, filling their defaults.
func (s *Server) setAccounts(accts []Account) error {
	s.byUser = make(map[string][]int)
	s.devKeys = make(map[string]bool)
	seen := make(map[[2]string]bool)
	for i, a := range accts {
		n := i + 1
		switch {
		case a.UserName == "":
			return fmt.Errorf("fakebill: account %d: missing userName", n)
		case a.Password == "":
			return fmt.Errorf("fakebill: account %d: missing password", n)
		case a.OrgID == "":
			return fmt.Errorf("fakebill: account %d: missing orgId", n)
		case a.DevKey == "":
			return fmt.Errorf("fakebill: account %d: missing devKey", n)
		}
		key := [2]string{a.UserName, a.OrgID}
		if seen[key] {
			return fmt.Errorf("fakebill: account %d: duplicate user in organization %s", n, a.OrgID)
		}
		seen[key] = true
		if a.UsersID == "" {
			a.UsersID = fmt.Sprintf("006%017d", n)
		}
		if a.OrgName == "" {
			a.OrgName = "Organization " + strconv.Itoa(n)
		}
		s.accounts = append(s.accounts, a)
		s.accountLabels = append(s.accountLabels, "account#"+strconv.Itoa(n))
		s.byUser[a.UserName] = append(s.byUser[a.UserName], n)
		s.devKeys[a.DevKey] = true
		cv := credValuesOf(a)
		s.credVals = append(s.credVals, cv)
		if !cv.empty() && !slices.Contains(s.allCreds, cv) {
			s.allCreds = append(s.allCreds, cv)
		}
	}
	return nil
}

// secrets lists every configured credential for the leak detector.
func (s *Server) secrets() []leak.Secret {
	var out []leak.Secret
	for _, a := range s.accounts {
		out = append(out,
			leak.Secret{Field: "userName", Value: a.UserName},
			leak.Secret{Field: "password", Value: a.Password},
			leak.Secret{Field: "devKey", Value: a.DevKey})
	}
	return out
}

// warnShortSecrets logs, without the value, each secret too short for the
// detector to find by value.
func (s *Server) warnShortSecrets(secrets []leak.Secret) {
	if s.opts.Logger == nil {
		return
	}
	for _, sec := range leak.ShortSecrets(secrets) {
		s.opts.Logger.Warn("secret too short to be detected in URLs by value; use 8 characters or more",
			slog.String("field", sec.Field))
	}
}

// account returns account#n, or nil.
func (s *Server) account(n int) *Account {
	if n < 1 || n > len(s.accounts) {
		return nil
	}
	return &s.accounts[n-1]
}

// accountLabel returns the label of account#n; the configured accounts'
// are built once, as nearly every journal entry names one.
func (s *Server) accountLabel(n int) string {
	if n >= 1 && n <= len(s.accountLabels) {
		return s.accountLabels[n-1]
	}
	return "account#" + strconv.Itoa(n)
}

// sessionLabel returns "session#n", allocating only the result.
func sessionLabel(n uint64) string {
	var b [len("session#") + 20]byte
	return string(strconv.AppendUint(append(b[:0], "session#"...), n, 10))
}
func isLabel(label, kind string) bool {
	_, ok := parseLabel(label, kind)
	return ok
}
func parseLabel(label, kind string) (uint64, bool) {
	num, ok := strings.CutPrefix(label, kind+"#")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil && n > 0
}

// Accounts returns the accounts the server accepts.
func (s *Server) Accounts() []Account {
	return append([]Account(nil), s.accounts...)
}

// AccountLabel returns the journal label ("account#1") of the first
// account with the given userName, and false if there is none.
func (s *Server) AccountLabel(userName string) (string, bool) {
	ns := s.byUser[userName]
	if len(ns) == 0 {
		return "", false
	}
	return s.accountLabel(ns[0]), true
}

// Now reads the server's clock.
func (s *Server) Now() time.Time { return s.clock.Now() }

// ClockMode reports "real" (an [OffsetClock], the default), "manual" (a
// [ManualClock]) or "injected" (any other [Clock]).
func (s *Server) ClockMode() string { return s.clockMode }

// Advance moves the server's clock forward by d. It returns
// [ErrClockNotMovable] for an injected clock without Add and Set,
// [ErrClockBackwards] for a negative d, and [ErrClockRange] if the clock
// would pass 2200-01-01; the clock does not move then.
func (s *Server) Advance(d time.Duration) error {
	mc, ok := s.clock.(MovableClock)
	if !ok {
		return ErrClockNotMovable
	}
	if d < 0 {
		return ErrClockBackwards
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if !inClockRange(mc.Now().Add(d)) {
		return ErrClockRange
	}
	mc.Add(d)
	return nil
}

// SetNow moves the server's clock to t. It returns [ErrClockNotMovable]
// for an injected clock without Add and Set, [ErrClockRange] for a t
// outside 1970-01-01 to 2200-01-01, and [ErrClockBackwards] if t is
// earlier than now; the clock does not move then.
func (s *Server) SetNow(t time.Time) error {
	mc, ok := s.clock.(MovableClock)
	if !ok {
		return ErrClockNotMovable
	}
	if !inClockRange(t) {
		return ErrClockRange
	}
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	if t.Before(mc.Now()) {
		return ErrClockBackwards
	}
	mc.Set(t)
	return nil
}

// now reads the clock for a request, held to the supported range: an
// injected clock can be moved past it behind the server's back, and a
// time outside it would break session expiry and the journal.
func (s *Server) now() time.Time { return clampClock(s.clock.Now()) }

// clockOffset is how far the clock is from where it would be unmoved: the
// offset of a real clock, the distance from the start time otherwise.
func (s *Server) clockOffset() time.Duration {
	if c, ok := s.clock.(*OffsetClock); ok {
		return c.Offset()
	}
	return s.clock.Now().Sub(s.start)
}

// SessionInfo describes a live session, by label only.
type SessionInfo struct {
	Session    string    `json:"session"`
	Account    string    `json:"account"`
	Created    time.Time `json:"created"`
	LastUse    time.Time `json:"last_use"`
	IdleLeftMS int64     `json:"idle_left_ms"`
}

// Sessions lists up to limit live sessions (all when limit <= 0), least
// recently used first: the first is the next to expire.
func (s *Server) Sessions(limit int) []SessionInfo {
	now := s.now()
	infos := s.sessions.List(now, max(limit, 0))
	out := make([]SessionInfo, 0, len(infos))
	for _, in := range infos {
		out = append(out, SessionInfo{
			Session:    sessionLabel(in.Label),
			Account:    s.accountLabel(in.Account),
			Created:    in.Created.UTC(),
			LastUse:    in.LastUse.UTC(),
			IdleLeftMS: (s.opts.IdleTimeout - now.Sub(in.LastUse)).Milliseconds(),
		})
	}
	return out
}

// EndSession ends the session with the given label ("session#3"). It
// reports whether a live session was ended.
func (s *Server) EndSession(label string) bool {
	n, ok := parseLabel(label, "session")
	return ok && s.sessions.EndLabel(n)
}

// EndAccount ends every session of the account with the given label
// ("account#1") and returns how many it ended.
func (s *Server) EndAccount(label string) int {
	n, ok := parseLabel(label, "account")
	if !ok || s.account(int(n)) == nil {
		return 0
	}
	return s.sessions.EndAccount(int(n))
}

// EndOrg ends every session in the organization orgID and returns how
// many it ended.
func (s *Server) EndOrg(orgID string) int {
	ended := 0
	for i, a := range s.accounts {
		if a.OrgID == orgID {
			ended += s.sessions.EndAccount(i + 1)
		}
	}
	return ended
}

// EndAll ends every session, as a server restart would, and returns how
// many it ended.
func (s *Server) EndAll() int { return s.sessions.EndAll() }

// Stats is a snapshot of the server's size and traffic. Logins counts
// successful logins; Calls counts every other API request, whatever its
// outcome, except ListOrgs.
type Stats struct {
	LiveSessions   int    `json:"live_sessions"`
	PeakSessions   int    `json:"peak_sessions"`
	JournalLen     int    `json:"journal_len"`
	Dropped        int64  `json:"dropped"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	Logins         int64  `json:"logins"`
	Calls          int64  `json:"calls"`
	// SinkSkipped counts entries the journal file sink skipped because
	// they could not be encoded; each is also logged.
	SinkSkipped int64 `json:"sink_skipped"`
}

// Stats returns counts; HeapInuseBytes is filled only by the control API,
// after a garbage collection.
func (s *Server) Stats() Stats {
	n, dropped, skipped := s.journal.size()
	return Stats{
		LiveSessions: s.sessions.Len(),
		PeakSessions: s.sessions.Peak(),
		JournalLen:   n,
		Dropped:      dropped,
		SinkSkipped:  skipped,
		Logins:       s.logins.Load(),
		Calls:        s.calls.Load(),
	}
}

// Reset puts the server back to its start: it ends every session, clears
// the journal and faults (releasing the requests they hold, as
// [Server.ClearFaults] does), keeps only the fixtures [Server.LoadFixtures]
// loaded, and puts the clock back to where it started (a real clock loses
// its offset; an injected clock that cannot be moved stays where it is).
// Seq numbers and labels continue.
func (s *Server) Reset() {
	s.sessions.EndAll()
	// The table judges liveness at the latest time it saw; the clock is
	// about to go back, so it must forget that time as well.
	s.sessions.Reset()
	s.fixtures.restore()
	s.ClearJournal()
	s.clockMu.Lock()
	switch c := s.clock.(type) {
	case *OffsetClock:
		c.reset()
	case MovableClock:
		c.Set(s.start)
	}
	s.clockMu.Unlock()
	// Last, so that the requests it releases find the server reset and
	// are journaled after the clear.
	s.ClearFaults()
}
