package sessiontest

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/fakebill/toolkit/fakebill"
)

// New starts a Server on a loopback socket for the test t and closes it
// when the test ends. At cleanup, once Close has waited for every request
// in flight, it fails the test if the client put a secret (userName,
// password, devKey or a session id) in a URL, listing each such request,
// unless opts.AllowLeaks is set. A setup failure is fatal to t.
//
// The server is closed after the test's deferred calls have run, so a
// goroutine check deferred in the test itself sees the server's
// goroutines: check in TestMain, or in a cleanup registered before New.
func New(t testing.TB, opts *Options) *Server {
	t.Helper()
	s, err := newServer(opts)
	if err != nil {
		t.Fatalf("%v", err)
		return nil
	}
	s.Start()
	t.Cleanup(func() {
		s.Close()
		s.checkLeaks(t)
	})
	return s
}

// RunSynctest runs f inside a new testing/synctest bubble with an
// in-memory Server made inside it (see [NewInMemory]) and the default
// options. See [RunSynctestWith].
func RunSynctest(t *testing.T, f func(t *testing.T, s *Server)) {
	t.Helper()
	RunSynctestWith(t, nil, f)
}

// RunSynctestWith runs f inside a new testing/synctest bubble with an
// in-memory Server made inside it from opts. In the bubble, time.Now and
// the client's own timers run in virtual time: time.Sleep(35*time.Minute)
// in f (or s.Advance) returns at once, with the fake's sessions 35
// minutes older. When f returns, the server is closed and the client's
// idle connections with it, so no goroutine outlives the bubble; then
// the test fails if the client leaked a secret into a URL, as with [New].
//
// The limits are those of testing/synctest in Go 1.26: f must not call
// t.Run, t.Parallel or t.Deadline, and goroutines f starts must have
// ended, or be blocked only on the bubble's own channels and timers, when
// f returns. Examples and benchmarks cannot open a bubble.
func RunSynctestWith(t *testing.T, opts *Options, f func(t *testing.T, s *Server)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		s, err := newInMemory(opts)
		if err != nil {
			t.Fatalf("%v", err)
		}
		// Deferred, not a t.Cleanup, so the server is gone before any
		// cleanup the test registered runs and checks for goroutines.
		defer func() {
			s.Close()
			s.checkLeaks(t)
		}()
		f(t, s)
	})
}

// checkLeaks fails t with a list of the requests that carried a secret in
// their URL, unless the server allows leaks.
func (s *Server) checkLeaks(t testing.TB) {
	t.Helper()
	if s.allowLeaks {
		return
	}
	if leaks := s.Leaks(); len(leaks) > 0 {
		t.Errorf("%s", leakReport(leaks))
	}
}

// leakReport says which requests leaked what, by sequence number, field,
// place and redacted request line: never the secret itself.
func leakReport(leaks []fakebill.Entry) string {
	var b strings.Builder
	n := fmt.Sprintf("%d requests", len(leaks))
	if len(leaks) == 1 {
		n = "1 request"
	}
	fmt.Fprintf(&b, "sessiontest: %s put a secret in the URL "+
		"(credentials and session ids belong in the POST body; Options.AllowLeaks permits this):", n)
	for _, e := range leaks {
		var what []string
		for _, l := range e.Leaks {
			what = append(what, l.Field+" in "+l.Where)
		}
		fmt.Fprintf(&b, "\n\tseq %d: %s: %s %s", e.Seq, strings.Join(what, ", "), e.Method, e.Path)
	}
	return b.String()
}
