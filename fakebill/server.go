package fakebill

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Server is the fake Bill.com v2 API: an [http.Handler] serving the API
// under its prefix and the control API under /_fakebill, plus a Go API
// for tests to drive its clock, sessions, faults, fixtures and journal.
// It opens no socket of its own; serve it with net/http or sessiontest.
// A Server is safe for concurrent use.
type Server struct {
	// TODO(fakebill): fields.
}

// NewServer returns a Server configured by opts. It fails on an invalid
// configuration: a duplicate or incomplete account, a bad prefix or mode.
func NewServer(opts Options) (*Server, error) {
	return nil, errors.New("fakebill: not built yet")
}

// ServeHTTP answers one request through the pipeline.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {}

// Accounts returns the accounts the server accepts.
func (s *Server) Accounts() []Account { return nil }

// AccountLabel returns the journal label ("account#1") of the account with
// the given userName, and false if there is none.
func (s *Server) AccountLabel(userName string) (string, bool) { return "", false }

// Now reads the server's clock.
func (s *Server) Now() time.Time { return time.Time{} }

// ClockMode reports "real", "manual" or "injected".
func (s *Server) ClockMode() string { return "" }

// Advance moves the server's clock forward by d. It returns
// [ErrClockNotMovable] for an injected clock without Add and Set, and
// [ErrClockBackwards] for a negative d.
func (s *Server) Advance(d time.Duration) error { return nil }

// SetNow moves the server's clock to t; [ErrClockBackwards] if t is
// earlier than now.
func (s *Server) SetNow(t time.Time) error { return nil }

// SessionInfo describes a live session, by label only.
type SessionInfo struct {
	Session    string    `json:"session"`
	Account    string    `json:"account"`
	Created    time.Time `json:"created"`
	LastUse    time.Time `json:"last_use"`
	IdleLeftMS int64     `json:"idle_left_ms"`
}

// Sessions lists up to limit live sessions (all when limit <= 0),
// oldest first.
func (s *Server) Sessions(limit int) []SessionInfo { return nil }

// EndSession ends the session with the given label ("session#3"). It
// reports whether a live session was ended.
func (s *Server) EndSession(label string) bool { return false }

// EndAccount ends every session of the account with the given label
// ("account#1") and returns how many it ended.
func (s *Server) EndAccount(label string) int { return 0 }

// EndOrg ends every session in the organization orgID.
func (s *Server) EndOrg(orgID string) int { return 0 }

// EndAll ends every session, as a server restart would.
func (s *Server) EndAll() int { return 0 }

// Journal returns the entries with Seq greater than since, in order, and
// how many entries the ring has evicted since the server started.
func (s *Server) Journal(since int64) (entries []Entry, dropped int64) { return nil, 0 }

// WaitJournal is Journal, but waits until at least one entry after since
// exists or ctx is done.
func (s *Server) WaitJournal(ctx context.Context, since int64) ([]Entry, int64) { return nil, 0 }

// ClearJournal empties the in-memory journal; Seq numbers continue.
func (s *Server) ClearJournal() {}

// Leaks returns the journal entries that recorded a secret in a URL.
func (s *Server) Leaks() []Entry { return nil }

// AddFault queues f.
func (s *Server) AddFault(f Fault) error { return nil }

// Faults lists the queued faults.
func (s *Server) Faults() []Fault { return nil }

// ClearFaults removes every queued fault and releases held requests.
func (s *Server) ClearFaults() {}

// Call is an authenticated request as a fixture function sees it.
type Call struct {
	Op      string          // "Crud/Read/Vendor"
	Data    json.RawMessage // the data field, nil if absent
	Form    map[string]string
	Account Account
	Session string // label
}

// FixtureFunc answers a call: the response_data to send, or an error. An
// error of type *[Error] is answered as that BDC error; any other as
// BDC_1001.
type FixtureFunc func(c *Call) (any, error)

// Error is a BDC error a fixture returns.
type Error struct {
	Code    string
	Message string // "" means the service's message for Code
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// SetFixture makes path ("Crud/Read/Vendor.json") answer responseData. A
// json.RawMessage holding a whole envelope (with response_status) is sent
// as it is.
func (s *Server) SetFixture(path string, responseData any) error { return nil }

// HandleFunc makes path answer whatever f returns.
func (s *Server) HandleFunc(path string, f FixtureFunc) {}

// Fixtures lists the paths with a fixture.
func (s *Server) Fixtures() []string { return nil }

// ClearFixtures removes every fixture.
func (s *Server) ClearFixtures() {}

// Stats is a snapshot of the server's size.
type Stats struct {
	LiveSessions   int    `json:"live_sessions"`
	PeakSessions   int    `json:"peak_sessions"`
	JournalLen     int    `json:"journal_len"`
	Dropped        int64  `json:"dropped"`
	HeapInuseBytes uint64 `json:"heap_inuse_bytes"`
	Logins         int64  `json:"logins"`
	Calls          int64  `json:"calls"`
}

// Stats returns counts; HeapInuseBytes is filled only by the control API,
// after a garbage collection.
func (s *Server) Stats() Stats { return Stats{} }

// Reset ends every session and clears the journal, faults and fixtures, and
// puts the clock back to where it started. Seq numbers and labels continue.
func (s *Server) Reset() {}
