package sessiontest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/internal/memnet"
)

// Options configures a [Server]. A nil *Options means the defaults: the
// demo account, a 35-minute idle timeout, secrets in URLs refused, and a
// mock clock at [fakebill.DefaultStartTime].
type Options struct {
	// Accounts the fake accepts; nil means Fake.Accounts, and if that is
	// nil too, [fakebill.DemoAccount].
	Accounts []fakebill.Account

	// IdleTimeout after which an unused session is invalid; 0 means
	// Fake.IdleTimeout, and if that is 0 too, 35 minutes.
	IdleTimeout time.Duration

	// Leaks is what the fake does with a secret it finds in a URL; ""
	// means Fake.Leaks, and if that is "" too, [fakebill.LeakRefuse].
	Leaks fakebill.LeakMode

	// AllowLeaks keeps [New] and [RunSynctestWith] from failing the test
	// at cleanup when the client put a secret in a URL. Set it in tests
	// that leak on purpose.
	AllowLeaks bool

	// Clock drives the fake of a socket server; nil means a new mock
	// clock set to Start. The in-memory server ignores it: it reads
	// time.Now.
	Clock *clock.Mock

	// Start is the time a new mock clock is set to; the zero value means
	// [fakebill.DefaultStartTime].
	Start time.Time

	// Fake holds every other option of the fake (StrictEndpoints,
	// SingleSession, Refresh, JournalWriter, Prefix, ...). Its Clock is
	// always replaced; the fields above win over its fields of the same
	// name when they are set.
	Fake fakebill.Options
}

// Server is a fake Bill.com v2 server for one test: the fake from package
// fakebill, served on a loopback socket (or, from [NewInMemory], on an
// in-memory listener), with a client that reaches it. Its methods are
// safe for concurrent use, except Start, StartTLS and Close.
type Server struct {
	// URL is the server's root, "http://127.0.0.1:port" with no trailing
	// slash. It is empty until the server is started. An in-memory
	// server's URL names 127.0.0.1:1, where nothing serves: only its
	// Client reaches it.
	URL string

	// BaseURL is the v2 base URL, URL plus the API prefix
	// ("http://127.0.0.1:port/api/v2"), with no trailing slash: what a
	// client is configured with.
	BaseURL string

	// Account is the first account the fake accepts: the demo account
	// unless Options.Accounts says otherwise, with the defaults the fake
	// filled in (UsersID, OrgName).
	Account fakebill.Account

	// Accounts are all the accounts the fake accepts, as Account is.
	Accounts []fakebill.Account

	// Clock is the mock clock the fake reads; a client that takes a
	// clock may be given it too, so that its timers move with the
	// fake's. It is nil for the in-memory server, which reads time.Now.
	Clock *clock.Mock

	// Config is the HTTP server. It may be changed after
	// NewUnstartedServer and before Start or StartTLS.
	Config *http.Server

	// TLS is the TLS configuration, set once StartTLS has run. If set on
	// an unstarted server, StartTLS starts from a copy of it.
	TLS *tls.Config

	fake       *fakebill.Server
	watch      *leakWatch
	ts         *httptest.Server
	prefix     string
	allowLeaks bool

	// mem and memClient are set for the in-memory server only.
	mem       *memnet.Listener
	memClient *http.Client

	closeOnce sync.Once
}

// NewServer starts and returns a Server on a loopback socket. The caller
// should call Close when finished. It panics, with a "sessiontest:"
// prefix, if opts is invalid (for instance an incomplete account).
func NewServer(opts *Options) *Server {
	s := NewUnstartedServer(opts)
	s.Start()
	return s
}

// NewTLSServer starts and returns a Server on a loopback socket serving
// HTTPS with a self-signed certificate that [Server.Client] trusts. The
// caller should call Close when finished.
func NewTLSServer(opts *Options) *Server {
	s := NewUnstartedServer(opts)
	s.StartTLS()
	return s
}

// NewUnstartedServer returns a Server listening on a loopback socket but
// not yet serving, so that its Config, TLS, or the fake itself can be set
// up first. The caller should call Start or StartTLS, then Close.
func NewUnstartedServer(opts *Options) *Server {
	s, err := newServer(opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// newServer builds a socket server, returning setup failures as errors so
// that New can report them through t.
func newServer(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	mock := opts.Clock
	if mock == nil {
		mock = clock.NewMock()
		start := opts.Start
		if start.IsZero() {
			start = fakebill.DefaultStartTime
		}
		mock.Set(start)
	}
	s, err := build(opts, mock)
	if err != nil {
		return nil, err
	}
	s.Clock = mock
	s.ts = httptest.NewUnstartedServer(s.fake)
	s.Config = s.ts.Config
	return s, nil
}

// build makes the fake and the parts of a Server common to both variants.
func build(opts *Options, c fakebill.Clock) (*Server, error) {
	fo := opts.Fake
	if opts.Accounts != nil {
		fo.Accounts = opts.Accounts
	}
	if opts.IdleTimeout != 0 {
		fo.IdleTimeout = opts.IdleTimeout
	}
	if opts.Leaks != "" {
		fo.Leaks = opts.Leaks
	}
	fo.Clock = c
	// The sink sees every entry, even those the ring evicts, so the
	// leak check listens there; the watch passes lines on to the sink
	// the options named.
	watch := &leakWatch{next: fo.JournalWriter}
	fo.JournalWriter = watch
	fake, err := fakebill.NewServer(fo)
	if err != nil {
		return nil, fmt.Errorf("sessiontest: starting the fake: %w", err)
	}
	// The fake's copy has the defaults it filled in (usersId, orgName).
	accts := fake.Accounts()
	if len(accts) == 0 {
		return nil, fmt.Errorf("sessiontest: the options give the fake no account")
	}
	prefix := strings.TrimSuffix(fo.Prefix, "/")
	if prefix == "" {
		prefix = fakebill.DefaultPrefix
	}
	return &Server{
		Account:    accts[0],
		Accounts:   accts,
		fake:       fake,
		watch:      watch,
		prefix:     prefix,
		allowLeaks: opts.AllowLeaks,
	}, nil
}

// Start starts serving plain HTTP. It panics if the server was already
// started.
func (s *Server) Start() {
	if s.URL != "" {
		panic("sessiontest: server already started")
	}
	s.ts.Start()
	s.started()
}

// StartTLS starts serving HTTPS with a self-signed certificate for
// 127.0.0.1 that [Server.Client] trusts. It panics if the server was
// already started or is an in-memory server.
func (s *Server) StartTLS() {
	if s.URL != "" {
		panic("sessiontest: server already started")
	}
	if s.mem != nil {
		panic("sessiontest: an in-memory server cannot serve TLS")
	}
	// TODO(fakebill): serve the certificate at /_fakebill/cert too; the
	// fake is made before the certificate exists and takes it only then.
	s.ts.TLS = s.TLS
	s.ts.StartTLS()
	s.TLS = s.ts.TLS
	s.started()
}

func (s *Server) started() {
	s.URL = s.ts.URL
	s.BaseURL = s.URL + s.prefix
}

// Close shuts the server down and blocks until every request in flight
// has finished (releasing any a fault holds), then closes the client's idle connections, so that no
// goroutine of the server or of its client's transport is left behind.
// The journal, leaks and counts stay readable afterwards. Close may be
// called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		// Requests held at a fault's barrier or real delay would keep
		// Close waiting until their timeouts; release them first.
		s.fake.ClearFaults()
		if s.memClient != nil {
			s.memClient.CloseIdleConnections()
		}
		s.ts.Close()
		if s.memClient != nil {
			s.memClient.CloseIdleConnections()
		}
	})
}

// Client returns an HTTP client that reaches the server: it has no cookie
// jar, uses no proxy, and trusts the certificate of a TLS server. Close
// closes its idle connections. Use BaseURL as the client's base URL.
func (s *Server) Client() *http.Client {
	if s.memClient != nil {
		return s.memClient
	}
	return s.ts.Client()
}

// Certificate returns the certificate of a TLS server, or nil.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// Fake returns the fake server itself, for anything the methods of Server
// do not offer.
func (s *Server) Fake() *fakebill.Server { return s.fake }

// Advance moves the fake's time forward by d, as if the client had been
// idle that long: a session idle for 35 minutes is then expired.
//
// On a socket server it moves Clock, firing the timers set on it (each
// move also waits about a millisecond of real time, a property of the
// mock clock). On the in-memory server it calls time.Sleep(d): inside a
// testing/synctest bubble that advances virtual time once every other
// goroutine in the bubble is blocked, so call it from the test goroutine;
// outside a bubble it really sleeps.
//
// Advance panics if d is negative: the fake's time never goes backwards.
func (s *Server) Advance(d time.Duration) {
	if d < 0 {
		panic("sessiontest: Advance with a negative duration")
	}
	if s.Clock == nil {
		time.Sleep(d)
		return
	}
	s.Clock.Add(d)
}

// Now returns the fake's current time.
func (s *Server) Now() time.Time { return s.fake.Now() }

// EndSession ends the session with the given journal label ("session#1"),
// as the real service may at any time, and reports whether it was live.
func (s *Server) EndSession(label string) bool { return s.fake.EndSession(label) }

// EndAccount ends every session of the account with the given label
// ("account#1") and returns how many it ended.
func (s *Server) EndAccount(label string) int { return s.fake.EndAccount(label) }

// EndAll ends every session, as a restart of the service would, and
// returns how many it ended.
func (s *Server) EndAll() int { return s.fake.EndAll() }

// Logins returns how many successful logins the fake has answered.
func (s *Server) Logins() int64 { return s.fake.Stats().Logins }

// Calls returns how many API requests other than Login and ListOrgs the
// fake has answered, whatever their outcome.
func (s *Server) Calls() int64 { return s.fake.Stats().Calls }

// Journal returns every journaled request still held, oldest first. Use
// Fake().Journal to read from a sequence number on.
func (s *Server) Journal() []fakebill.Entry {
	entries, _ := s.fake.Journal(0)
	return entries
}

// AddFault queues a fault: a failure the fake answers instead of the
// operation, a delay, or a barrier.
func (s *Server) AddFault(f fakebill.Fault) error { return s.fake.AddFault(f) }

// SetFixture makes path ("Crud/Read/Vendor.json") answer responseData.
func (s *Server) SetFixture(path string, responseData any) error {
	return s.fake.SetFixture(path, responseData)
}

// HandleFunc makes path answer whatever f returns.
func (s *Server) HandleFunc(path string, f fakebill.FixtureFunc) { s.fake.HandleFunc(path, f) }
