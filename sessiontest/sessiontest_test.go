package sessiontest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/sessiontest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// constructors are the ways to get a started server, each tested alike.
var constructors = []struct {
	name   string
	scheme string
	new    func(*sessiontest.Options) *sessiontest.Server
}{
	{"NewServer", "http", sessiontest.NewServer},
	{"NewTLSServer", "https", sessiontest.NewTLSServer},
	{"NewUnstartedServer+Start", "http", func(o *sessiontest.Options) *sessiontest.Server {
		s := sessiontest.NewUnstartedServer(o)
		s.Start()
		return s
	}},
	{"NewUnstartedServer+StartTLS", "https", func(o *sessiontest.Options) *sessiontest.Server {
		s := sessiontest.NewUnstartedServer(o)
		s.StartTLS()
		return s
	}},
	{"NewInMemory", "http", sessiontest.NewInMemory},
}

func TestServer_loginAndCall(t *testing.T) {
	for _, tt := range constructors {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.new(nil)

			u, err := url.Parse(s.URL)
			if err != nil {
				t.Fatalf("url.Parse(URL %q): %v", s.URL, err)
			}
			if u.Scheme != tt.scheme || u.Hostname() != "127.0.0.1" || u.Path != "" {
				t.Errorf("URL = %q, want %s://127.0.0.1:port", s.URL, tt.scheme)
			}
			if got, want := s.BaseURL, s.URL+"/api/v2"; got != want {
				t.Errorf("BaseURL = %q, want %q", got, want)
			}
			if diff := cmp.Diff(fakebill.DemoAccount, s.Account); diff != "" {
				t.Errorf("Account (-want +got):\n%s", diff)
			}
			if s.Client().Jar != nil {
				t.Errorf("Client().Jar = %v, want nil", s.Client().Jar)
			}

			sid, err := login(s.Client(), s.BaseURL, s.Account)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			data, err := post(s.Client(), s.BaseURL, "GetSessionInfo.json",
				url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}})
			if err != nil {
				t.Fatalf("GetSessionInfo: %v", err)
			}
			var info struct{ OrganizationID string }
			json.Unmarshal(data, &info)
			if info.OrganizationID != s.Account.OrgID {
				t.Errorf("GetSessionInfo organizationId = %q, want %q", info.OrganizationID, s.Account.OrgID)
			}
			if got, want := s.Logins(), int64(1); got != want {
				t.Errorf("Logins() = %d, want %d", got, want)
			}
			if got, want := s.Calls(), int64(1); got != want {
				t.Errorf("Calls() = %d, want %d", got, want)
			}
			var ops []string
			for _, e := range s.Journal() {
				ops = append(ops, e.Op)
			}
			if diff := cmp.Diff([]string{"Login", "GetSessionInfo"}, ops); diff != "" {
				t.Errorf("Journal() ops (-want +got):\n%s", diff)
			}
			if got := s.Leaks(); len(got) != 0 {
				t.Errorf("Leaks() = %v, want none", got)
			}

			s.Close()
			s.Close() // a second Close is harmless
			if _, err := s.Client().Get(s.BaseURL + "/GetSessionInfo.json"); err == nil {
				t.Errorf("a request after Close succeeded, want an error")
			}
			goleak.VerifyNone(t)
		})
	}
}

func TestServer_closeUnstarted(t *testing.T) {
	s := sessiontest.NewUnstartedServer(nil)
	s.Close()
	goleak.VerifyNone(t)
}

// idleCase is a session left idle for some time, and the code the next
// call should get.
type idleCase struct {
	name     string
	idle     time.Duration
	wantCode string
}

func checkIdle(t *testing.T, s *sessiontest.Server, tt idleCase) {
	t.Helper()
	sid, err := login(s.Client(), s.BaseURL, s.Account)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	s.Advance(tt.idle)
	_, err = post(s.Client(), s.BaseURL, "GetSessionInfo.json",
		url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}})
	if got := codeOf(err); got != tt.wantCode {
		t.Errorf("after %v idle: code = %q (err %v), want %q", tt.idle, got, err, tt.wantCode)
	}
}

func TestServer_Advance(t *testing.T) {
	for _, tt := range []idleCase{
		{"just under the timeout", 35*time.Minute - time.Second, ""},
		{"at the timeout", 35 * time.Minute, fakebill.CodeSessionInvalid},
		{"a day", 24 * time.Hour, fakebill.CodeSessionInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := sessiontest.New(t, nil)
			start := s.Now()
			checkIdle(t, s, tt)
			if got, want := s.Now().Sub(start), tt.idle; got != want {
				t.Errorf("Now() moved by %v, want %v", got, want)
			}
		})
	}
}

func TestServer_AdvanceInBubble(t *testing.T) {
	for _, tt := range []idleCase{
		{"just under the timeout", 35*time.Minute - time.Nanosecond, ""},
		{"at the timeout", 35 * time.Minute, fakebill.CodeSessionInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sessiontest.RunSynctest(t, func(t *testing.T, s *sessiontest.Server) {
				checkIdle(t, s, tt)
			})
		})
	}
}

func TestRunSynctestWith_options(t *testing.T) {
	acct := fakebill.Account{UserName: "ap-clerk@example.invalid", Password: "Correct-Horse-7",
		OrgID: "00800000000000000042", DevKey: "DEVKEY-TEST-00042"}
	opts := &sessiontest.Options{Accounts: []fakebill.Account{acct}, IdleTimeout: 10 * time.Minute}
	sessiontest.RunSynctestWith(t, opts, func(t *testing.T, s *sessiontest.Server) {
		if diff := cmp.Diff(acct, s.Account, filledIn); diff != "" {
			t.Errorf("Account (-want +got):\n%s", diff)
		}
		if s.Clock != nil {
			t.Errorf("Clock = %v, want nil for the in-memory server", s.Clock)
		}
		checkIdle(t, s, idleCase{idle: 10 * time.Minute, wantCode: fakebill.CodeSessionInvalid})
	})
}

func TestServer_AdvanceNegativePanics(t *testing.T) {
	s := sessiontest.New(t, nil)
	defer func() {
		r := recover()
		if msg, _ := r.(string); !strings.HasPrefix(msg, "sessiontest:") {
			t.Errorf("Advance(-1s) panicked with %v, want a sessiontest: message", r)
		}
	}()
	s.Advance(-time.Second)
}

// filledIn ignores the account fields the fake fills in when left empty.
var filledIn = cmpopts.IgnoreFields(fakebill.Account{}, "UsersID", "OrgName")

func TestOptions(t *testing.T) {
	acct := fakebill.Account{
		UserName: "ap-clerk@example.invalid",
		Password: "Correct-Horse-7",
		OrgID:    "00800000000000000042",
		DevKey:   "DEVKEY-TEST-00042",
	}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mock := clock.NewMock()
	mock.Set(start.Add(time.Hour))

	tests := []struct {
		name  string
		opts  *sessiontest.Options
		check func(t *testing.T, s *sessiontest.Server)
	}{
		{name: "Accounts", opts: &sessiontest.Options{Accounts: []fakebill.Account{acct}},
			check: func(t *testing.T, s *sessiontest.Server) {
				if diff := cmp.Diff(acct, s.Account, filledIn); diff != "" {
					t.Errorf("Account (-want +got):\n%s", diff)
				}
				if s.Account.UsersID == "" {
					t.Errorf("Account.UsersID is empty, want the one the fake filled in")
				}
				if _, err := login(s.Client(), s.BaseURL, acct); err != nil {
					t.Errorf("login as the configured account: %v", err)
				}
				_, err := login(s.Client(), s.BaseURL, fakebill.DemoAccount)
				if got, want := codeOf(err), fakebill.CodeBadDevKey; got != want {
					t.Errorf("login as the demo account: code = %q (err %v), want %q", got, err, want)
				}
				wrong := acct
				wrong.Password = "Wrong-Horse-7"
				_, err = login(s.Client(), s.BaseURL, wrong)
				if got, want := codeOf(err), fakebill.CodeBadCredentials; got != want {
					t.Errorf("login with a wrong password: code = %q (err %v), want %q", got, err, want)
				}
			}},
		{name: "Fake.Accounts", opts: &sessiontest.Options{Fake: fakebill.Options{Accounts: []fakebill.Account{acct}}},
			check: func(t *testing.T, s *sessiontest.Server) {
				if diff := cmp.Diff(acct, s.Account, filledIn); diff != "" {
					t.Errorf("Account (-want +got):\n%s", diff)
				}
			}},
		{name: "IdleTimeout", opts: &sessiontest.Options{IdleTimeout: 10 * time.Minute},
			check: func(t *testing.T, s *sessiontest.Server) {
				checkIdle(t, s, idleCase{idle: 10 * time.Minute, wantCode: fakebill.CodeSessionInvalid})
			}},
		{name: "Start", opts: &sessiontest.Options{Start: start},
			check: func(t *testing.T, s *sessiontest.Server) {
				if got := s.Now(); !got.Equal(start) {
					t.Errorf("Now() = %v, want %v", got, start)
				}
			}},
		{name: "default start", opts: nil,
			check: func(t *testing.T, s *sessiontest.Server) {
				if got, want := s.Now(), fakebill.DefaultStartTime; !got.Equal(want) {
					t.Errorf("Now() = %v, want %v", got, want)
				}
			}},
		{name: "Clock", opts: &sessiontest.Options{Clock: mock, Start: start},
			check: func(t *testing.T, s *sessiontest.Server) {
				if s.Clock != mock {
					t.Errorf("Clock = %p, want the mock passed in (%p)", s.Clock, mock)
				}
				if got, want := s.Now(), start.Add(time.Hour); !got.Equal(want) {
					t.Errorf("Now() = %v, want the given clock's %v", got, want)
				}
				mock.Add(time.Minute)
				if got, want := s.Now(), start.Add(time.Hour+time.Minute); !got.Equal(want) {
					t.Errorf("after moving the given clock, Now() = %v, want %v", got, want)
				}
			}},
		{name: "Fake.Prefix", opts: &sessiontest.Options{Fake: fakebill.Options{Prefix: "/v2api"}},
			check: func(t *testing.T, s *sessiontest.Server) {
				if got, want := s.BaseURL, s.URL+"/v2api"; got != want {
					t.Errorf("BaseURL = %q, want %q", got, want)
				}
				if _, err := login(s.Client(), s.BaseURL, s.Account); err != nil {
					t.Errorf("login under the prefix: %v", err)
				}
			}},
		{name: "Leaks refuse by default", opts: &sessiontest.Options{AllowLeaks: true},
			check: func(t *testing.T, s *sessiontest.Server) {
				if got, want := leakyLoginStatus(t, s), http.StatusBadRequest; got != want {
					t.Errorf("leaky login: HTTP %d, want %d", got, want)
				}
			}},
		{name: "Leaks record", opts: &sessiontest.Options{Leaks: fakebill.LeakRecord, AllowLeaks: true},
			check: func(t *testing.T, s *sessiontest.Server) {
				if got, want := leakyLoginStatus(t, s), http.StatusOK; got != want {
					t.Errorf("leaky login: HTTP %d, want %d", got, want)
				}
			}},
		{name: "Fake.Leaks", opts: &sessiontest.Options{Fake: fakebill.Options{Leaks: fakebill.LeakRecord}, AllowLeaks: true},
			check: func(t *testing.T, s *sessiontest.Server) {
				if got, want := leakyLoginStatus(t, s), http.StatusOK; got != want {
					t.Errorf("leaky login: HTTP %d, want %d", got, want)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, sessiontest.New(t, tt.opts))
		})
	}
}

// leakyLoginStatus logs in with the password in the query string and
// returns the HTTP status; the leak is in s's journal afterwards.
func leakyLoginStatus(t *testing.T, s *sessiontest.Server) int {
	t.Helper()
	resp, err := s.Client().PostForm(s.BaseURL+"/Login.json?password="+url.QueryEscape(s.Account.Password),
		url.Values{"userName": {s.Account.UserName}, "password": {s.Account.Password},
			"orgId": {s.Account.OrgID}, "devKey": {s.Account.DevKey}})
	if err != nil {
		t.Fatalf("leaky login: %v", err)
	}
	resp.Body.Close()
	if got := len(s.Leaks()); got != 1 {
		t.Errorf("after a leaky login, len(Leaks()) = %d, want 1", got)
	}
	return resp.StatusCode
}

func TestNew_leakCheck(t *testing.T) {
	tests := []struct {
		name      string
		opts      *sessiontest.Options
		leak      bool
		after     func(s *sessiontest.Server) // before cleanup
		wantError bool
	}{
		{"clean client", nil, false, nil, false},
		{"leaking client", nil, true, nil, true},
		{"leaking client, leaks recorded",
			&sessiontest.Options{Leaks: fakebill.LeakRecord}, true, nil, true},
		{"leaking client, AllowLeaks", &sessiontest.Options{AllowLeaks: true}, true, nil, false},
		{"leak, then the journal cleared",
			nil, true, func(s *sessiontest.Server) { s.Fake().ClearJournal() }, true},
		{"leak evicted from the journal ring",
			&sessiontest.Options{Fake: fakebill.Options{JournalSize: 1}}, true,
			func(s *sessiontest.Server) { login(s.Client(), s.BaseURL, s.Account) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingT{}
			s := sessiontest.New(rt, tt.opts)
			sid, err := login(s.Client(), s.BaseURL, s.Account)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			path := "GetSessionInfo.json"
			if tt.leak {
				path += "?sessionId=" + url.QueryEscape(sid)
			}
			post(s.Client(), s.BaseURL, path, url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}})
			if tt.after != nil {
				tt.after(s)
			}
			if len(rt.errors) != 0 {
				t.Fatalf("failed before cleanup: %q", rt.errors)
			}

			rt.end()
			if got := len(rt.errors) > 0; got != tt.wantError {
				t.Fatalf("failed at cleanup = %v (%q), want %v", got, rt.errors, tt.wantError)
			}
			if !tt.wantError {
				return
			}
			msg := strings.Join(rt.errors, "\n")
			for _, want := range []string{
				"sessiontest:", "seq 2:", "sessionId in query", "POST /api/v2/GetSessionInfo.json",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("cleanup message %q does not contain %q", msg, want)
				}
			}
			if strings.Contains(msg, sid) {
				t.Errorf("cleanup message %q contains the session id", msg)
			}
		})
	}
}

func TestOptions_journalWriterKept(t *testing.T) {
	var sink strings.Builder
	s := sessiontest.New(t, &sessiontest.Options{Fake: fakebill.Options{JournalWriter: &sink}})
	if _, err := login(s.Client(), s.BaseURL, s.Account); err != nil {
		t.Fatalf("login: %v", err)
	}
	var e fakebill.Entry
	if err := json.Unmarshal([]byte(sink.String()), &e); err != nil || e.Op != "Login" {
		t.Errorf("the JournalWriter from the options got %q (%v), want the Login entry", sink.String(), err)
	}
}

func TestNew_badOptions(t *testing.T) {
	bad := &sessiontest.Options{Accounts: []fakebill.Account{{UserName: "no-password@example.invalid"}}}

	rt := &recordingT{}
	if s := sessiontest.New(rt, bad); s != nil {
		t.Errorf("New with an incomplete account = %v, want nil", s)
	}
	if !rt.fatal || len(rt.errors) != 1 || !strings.HasPrefix(rt.errors[0], "sessiontest:") {
		t.Errorf("New with an incomplete account: fatal = %v, errors = %q; want one fatal sessiontest: error",
			rt.fatal, rt.errors)
	}

	for _, tt := range constructors {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "sessiontest:") {
					t.Errorf("panic = %v, want a message starting sessiontest:", r)
				}
			}()
			s := tt.new(bad)
			s.Close()
		})
	}
}

func TestNewTLSServer_trust(t *testing.T) {
	s := sessiontest.NewUnstartedServer(nil)
	// The default client's refused handshake would be logged otherwise.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	defer s.Close()

	if s.Certificate() == nil {
		t.Fatal("Certificate() = nil, want the server's certificate")
	}
	if _, err := login(s.Client(), s.BaseURL, s.Account); err != nil {
		t.Errorf("login with Client(): %v", err)
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, err := login(&http.Client{Transport: tr}, s.BaseURL, s.Account)
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	if !errors.As(err, &unknown) && !errors.As(err, &verify) {
		t.Errorf("login with a default client: err = %v, want a certificate verification error", err)
	}
}

func TestNewInMemory_dialsOnlyItself(t *testing.T) {
	s := sessiontest.NewInMemory(nil)
	defer s.Close()
	_, err := s.Client().Get("http://127.0.0.1:2/api/v2/Login.json")
	if err == nil || !strings.Contains(err.Error(), "reaches only 127.0.0.1:1, not 127.0.0.1:2") {
		t.Errorf("GET on another address: err = %v, want the in-memory client's refusal", err)
	}
}

func TestServer_helpers(t *testing.T) {
	vendor := map[string]any{"id": "00901000000000000001", "name": "Acme"}
	tests := []struct {
		name     string
		setup    func(t *testing.T, s *sessiontest.Server, session, account string)
		op       string
		wantCode string
		wantData string // JSON, compared when wantCode is ""
		next     string // code of a second identical call
	}{
		{"EndSession", func(t *testing.T, s *sessiontest.Server, session, _ string) {
			if !s.EndSession(session) {
				t.Errorf("EndSession(%q) = false, want true", session)
			}
			if s.EndSession(session) {
				t.Errorf("second EndSession(%q) = true, want false", session)
			}
		}, "GetSessionInfo.json", fakebill.CodeSessionInvalid, "", fakebill.CodeSessionInvalid},
		{"EndAccount", func(t *testing.T, s *sessiontest.Server, _, account string) {
			if got := s.EndAccount(account); got != 1 {
				t.Errorf("EndAccount(%q) = %d, want 1", account, got)
			}
		}, "GetSessionInfo.json", fakebill.CodeSessionInvalid, "", fakebill.CodeSessionInvalid},
		{"EndAll", func(t *testing.T, s *sessiontest.Server, _, _ string) {
			if got := s.EndAll(); got != 1 {
				t.Errorf("EndAll() = %d, want 1", got)
			}
		}, "GetSessionInfo.json", fakebill.CodeSessionInvalid, "", fakebill.CodeSessionInvalid},
		{"AddFault", func(t *testing.T, s *sessiontest.Server, _, _ string) {
			f := fakebill.Fault{Match: fakebill.FaultMatch{Op: "Crud/Read/Vendor"},
				Reply: &fakebill.FaultReply{Code: fakebill.CodeConcurrencyLimit}, Times: 1}
			if err := s.AddFault(f); err != nil {
				t.Fatalf("AddFault: %v", err)
			}
		}, "Crud/Read/Vendor.json", fakebill.CodeConcurrencyLimit, "", ""},
		{"SetFixture", func(t *testing.T, s *sessiontest.Server, _, _ string) {
			if err := s.SetFixture("Crud/Read/Vendor.json", vendor); err != nil {
				t.Fatalf("SetFixture: %v", err)
			}
		}, "Crud/Read/Vendor.json", "", `{"id":"00901000000000000001","name":"Acme"}`, ""},
		{"HandleFunc", func(t *testing.T, s *sessiontest.Server, _, _ string) {
			n := 0
			s.HandleFunc("Crud/Read/Vendor.json", func(c *fakebill.Call) (any, error) {
				n++
				if n > 1 {
					return nil, &fakebill.Error{Code: fakebill.CodeBadJSON}
				}
				return map[string]string{"op": c.Op}, nil
			})
		}, "Crud/Read/Vendor.json", "", `{"op":"Crud/Read/Vendor"}`, fakebill.CodeBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sessiontest.New(t, nil)
			sid, err := login(s.Client(), s.BaseURL, s.Account)
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			j := s.Journal()
			if len(j) != 1 || j[0].Session == "" || j[0].Account == "" {
				t.Fatalf("Journal() after login = %+v, want one entry with session and account labels", j)
			}
			tt.setup(t, s, j[0].Session, j[0].Account)

			form := url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid},
				"data": {`{"id":"00901000000000000001"}`}}
			data, err := post(s.Client(), s.BaseURL, tt.op, form)
			if got := codeOf(err); got != tt.wantCode {
				t.Fatalf("%s: code = %q (err %v), want %q", tt.op, got, err, tt.wantCode)
			}
			if tt.wantCode == "" {
				if diff := cmp.Diff(tt.wantData, string(data)); diff != "" {
					t.Errorf("%s response_data (-want +got):\n%s", tt.op, diff)
				}
			}
			_, err = post(s.Client(), s.BaseURL, tt.op, form)
			if got := codeOf(err); got != tt.next {
				t.Errorf("second %s: code = %q (err %v), want %q", tt.op, got, err, tt.next)
			}
		})
	}
}

func TestServer_Fake(t *testing.T) {
	s := sessiontest.New(t, nil)
	if s.Fake() == nil {
		t.Fatal("Fake() = nil")
	}
	if got, want := s.Fake().ClockMode(), "injected"; got != want {
		t.Errorf("Fake().ClockMode() = %q, want %q", got, want)
	}
}

// TestServer_CloseWaits checks that Close lets a request in flight finish
// and returns only then. It runs in a bubble so that "Close is still
// blocked" is a fact, not a guess about timing.
func TestServer_CloseWaits(t *testing.T) {
	sessiontest.RunSynctest(t, func(t *testing.T, s *sessiontest.Server) {
		entered, release := make(chan struct{}), make(chan struct{})
		s.HandleFunc("Crud/Read/Vendor.json", func(*fakebill.Call) (any, error) {
			close(entered)
			<-release
			return map[string]string{"ok": "yes"}, nil
		})
		sid, err := login(s.Client(), s.BaseURL, s.Account)
		if err != nil {
			t.Fatalf("login: %v", err)
		}

		callErr := make(chan error, 1)
		go func() {
			_, err := post(s.Client(), s.BaseURL, "Crud/Read/Vendor.json",
				url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}})
			callErr <- err
		}()
		<-entered
		closed := make(chan struct{})
		go func() {
			s.Close()
			close(closed)
		}()

		synctest.Wait()
		select {
		case <-closed:
			t.Fatal("Close returned while a request was in flight")
		default:
		}
		close(release)
		if err := <-callErr; err != nil {
			t.Errorf("the request in flight during Close: %v, want success", err)
		}
		<-closed
	})
}

// TestRunSynctest_renewalTimer drives clients with a real renewal timer
// through 3 virtual hours. Their login counts follow from the timer: a
// client renewing every 34 idle minutes logs in at 0, 34, 68, 102, 136 and
// 170 minutes and never meets an expired session; a timer that is missing,
// or fires once and is not re-armed, leaves the session to expire, and the
// call at 180 minutes meets BDC_1109 and logs in again.
func TestRunSynctest_renewalTimer(t *testing.T) {
	tests := []struct {
		name        string
		renewAfter  time.Duration
		rearm       bool
		wantLogins  int64
		wantExpired int
	}{
		{"renews every 34m", 34 * time.Minute, true, 1 + 180/34, 0},
		{"no timer", 0, true, 2, 1},
		{"timer not re-armed", 34 * time.Minute, false, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wall := time.Now()
			sessiontest.RunSynctest(t, func(t *testing.T, s *sessiontest.Server) {
				start := time.Now()
				c := newRenewingClient(s, tt.renewAfter)
				c.rearm = tt.rearm
				defer c.Close()

				if _, err := c.Call("GetSessionInfo.json"); err != nil {
					t.Fatalf("first call: %v", err)
				}
				time.Sleep(3 * time.Hour) // virtual time in the bubble: returns once every timer due has fired
				if _, err := c.Call("GetSessionInfo.json"); err != nil {
					t.Fatalf("call after 3h: %v", err)
				}

				if got, want := time.Since(start), 3*time.Hour; got != want {
					t.Errorf("virtual time passed = %v, want %v", got, want)
				}
				if got := s.Logins(); got != tt.wantLogins {
					t.Errorf("Logins() = %d, want %d", got, tt.wantLogins)
				}
				expired := 0
				for _, e := range s.Journal() {
					if e.Code == fakebill.CodeSessionInvalid {
						expired++
					}
				}
				if expired != tt.wantExpired {
					t.Errorf("calls answered BDC_1109 = %d, want %d", expired, tt.wantExpired)
				}
			})
			t.Logf("3 virtual hours took %v of wall time", time.Since(wall))
		})
	}
}

// BenchmarkStartClose compares the cost of a server's life: started,
// one login, closed. A socket server's mock clock is set once at start,
// which waits a millisecond of real time.
func BenchmarkStartClose(b *testing.B) {
	b.Run("socket", func(b *testing.B) {
		defer reportRate(b, time.Now(), "servers/s")
		for b.Loop() {
			s := sessiontest.NewServer(nil)
			if _, err := login(s.Client(), s.BaseURL, s.Account); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("inmemory", func(b *testing.B) {
		defer reportRate(b, time.Now(), "servers/s")
		for b.Loop() {
			s := sessiontest.NewInMemory(nil)
			if _, err := login(s.Client(), s.BaseURL, s.Account); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("httptest", func(b *testing.B) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"response_status":0,"response_message":"Success","response_data":{"sessionId":"x"}}`))
		})
		defer reportRate(b, time.Now(), "servers/s")
		for b.Loop() {
			ts := httptest.NewServer(h)
			resp, err := ts.Client().PostForm(ts.URL+"/api/v2/Login.json", url.Values{"userName": {"u"}})
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			ts.Close()
		}
	})
}

// BenchmarkCall measures one authenticated call on a kept-alive
// connection.
func BenchmarkCall(b *testing.B) {
	for _, tt := range []struct {
		name string
		new  func(*sessiontest.Options) *sessiontest.Server
	}{
		{"socket", sessiontest.NewServer},
		{"inmemory", sessiontest.NewInMemory},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := tt.new(nil)
			defer s.Close()
			sid, err := login(s.Client(), s.BaseURL, s.Account)
			if err != nil {
				b.Fatal(err)
			}
			form := url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}}
			defer reportRate(b, time.Now(), "calls/s")
			for b.Loop() {
				if _, err := post(s.Client(), s.BaseURL, "GetSessionInfo.json", form); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportRate reports b.N per second of wall time since start.
func reportRate(b *testing.B, start time.Time, unit string) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
}

// Close releases a request a fault holds instead of waiting out the
// fault's timeout. In a bubble the wait would be virtual, so the test
// reads how much virtual time Close took.
func TestCloseReleasesHeldRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sessiontest.NewInMemory(nil)
		err := s.AddFault(fakebill.Fault{
			Match:   fakebill.FaultMatch{Op: "Login"},
			Barrier: &fakebill.Barrier{N: 2, Timeout: time.Hour},
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			form := url.Values{"userName": {s.Account.UserName}, "password": {s.Account.Password},
				"orgId": {s.Account.OrgID}, "devKey": {s.Account.DevKey}}
			if resp, err := s.Client().PostForm(s.BaseURL+"/Login.json", form); err == nil {
				resp.Body.Close()
			}
		}()
		synctest.Wait() // the login is held at the barrier
		start := time.Now()
		s.Close()
		<-done
		if took := time.Since(start); took >= time.Hour {
			t.Errorf("Close took %v of virtual time, want it to release the held login at once", took)
		}
	})
}
