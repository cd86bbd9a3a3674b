package sessiontest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/sessiontest"
)

// post sends one v2 call and returns its response_data, or the BDC error
// of an error envelope as a *bdcError.
func post(hc *http.Client, baseURL, op string, form url.Values) (json.RawMessage, error) {
	resp, err := hc.PostForm(baseURL+"/"+op, form)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var env struct {
		Status int             `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d: %v", op, resp.StatusCode, err)
	}
	if env.Status != 0 {
		e := &bdcError{}
		if err := json.Unmarshal(env.Data, e); err != nil {
			return nil, fmt.Errorf("%s: bad error envelope: %v", op, err)
		}
		return nil, e
	}
	return env.Data, nil
}

// bdcError is a v2 error envelope's response_data.
type bdcError struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

func (e *bdcError) Error() string { return e.Code + ": " + e.Message }

// codeOf returns the BDC code of err, or "" if it has none.
func codeOf(err error) string {
	var e *bdcError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// login logs acct in and returns the session id.
func login(hc *http.Client, baseURL string, acct fakebill.Account) (string, error) {
	data, err := post(hc, baseURL, "Login.json", url.Values{
		"userName": {acct.UserName}, "password": {acct.Password},
		"orgId": {acct.OrgID}, "devKey": {acct.DevKey},
	})
	if err != nil {
		return "", err
	}
	var r struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(data, &r); err != nil || r.SessionID == "" {
		return "", fmt.Errorf("Login.json: no sessionId in %s", data)
	}
	return r.SessionID, nil
}

// This example logs in with the demo account, makes a call, lets the
// session sit idle for 35 minutes of the fake's time, and calls again.
func ExampleNewServer() {
	s := sessiontest.NewServer(nil)
	defer s.Close()

	sid, err := login(s.Client(), s.BaseURL, s.Account)
	if err != nil {
		fmt.Println(err)
		return
	}
	session := url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}}
	info, err := post(s.Client(), s.BaseURL, "GetSessionInfo.json", session)
	fmt.Println(string(info), err)

	s.Advance(35 * time.Minute)
	_, err = post(s.Client(), s.BaseURL, "GetSessionInfo.json", session)
	fmt.Println(err)
	fmt.Println("logins:", s.Logins())
	// Output:
	// {"organizationId":"00800000000000000001","userId":"00600000000000000001"} <nil>
	// BDC_1109: Session is invalid.  Please log in.
	// logins: 1
}

// This example ends a session from the server side, as the real service
// may at any moment, and shows what the client's next call meets.
func ExampleServer_EndSession() {
	s := sessiontest.NewServer(nil)
	defer s.Close()

	sid, _ := login(s.Client(), s.BaseURL, s.Account)
	label := s.Journal()[0].Session // sessions appear only by label
	fmt.Println(label, "ended:", s.EndSession(label))

	_, err := post(s.Client(), s.BaseURL, "GetSessionInfo.json",
		url.Values{"devKey": {s.Account.DevKey}, "sessionId": {sid}})
	fmt.Println(err)
	// Output:
	// session#1 ended: true
	// BDC_1109: Session is invalid.  Please log in.
}

// recordingT stands in for a *testing.T: it records failures and
// cleanups, and the test that uses it runs the cleanups itself.
type recordingT struct {
	testing.TB // methods not overridden here are never called
	cleanups   []func()
	errors     []string
	fatal      bool
}

func (t *recordingT) Helper()          {}
func (t *recordingT) Name() string     { return "TestStandIn" }
func (t *recordingT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

func (t *recordingT) Errorf(format string, args ...any) {
	t.errors = append(t.errors, fmt.Sprintf(format, args...))
}

func (t *recordingT) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	t.fatal = true
}

// end runs the cleanups, last registered first, as a test's end does.
func (t *recordingT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

// This example shows the failure New reports at cleanup when the client
// under test put its session id in a URL. A stand-in for *testing.T
// records the failure so that the example can print it.
func ExampleNew_leak() {
	t := &recordingT{}
	s := sessiontest.New(t, nil)

	sid, _ := login(s.Client(), s.BaseURL, s.Account)
	// The mistake: the session id in the query string.
	_, err := post(s.Client(), s.BaseURL, "GetSessionInfo.json?sessionId="+url.QueryEscape(sid),
		url.Values{"devKey": {s.Account.DevKey}})
	fmt.Println("the call:", err)

	t.end()
	fmt.Println(strings.Join(t.errors, "\n"))
	// Output:
	// the call: FAKEBILL_SECRET_IN_URL: Secret in URL: sessionId in the query string. Credentials and session ids belong in the POST body.
	// sessiontest: 1 request put a secret in the URL (credentials and session ids belong in the POST body; Options.AllowLeaks permits this):
	// 	seq 2: sessionId in query: POST /api/v2/GetSessionInfo.json
}

// renewingClient is a small v2 client that renews its session on its own
// timer, as BILL's sample does: once the session has been idle for
// renewAfter it logs in again, so it never meets an expired session. It
// also logs in again, once, when a call is answered BDC_1109.
type renewingClient struct {
	hc         *http.Client
	baseURL    string
	acct       fakebill.Account
	renewAfter time.Duration // 0: no timer
	rearm      bool          // false models a timer that fires only once

	mu      sync.Mutex
	session string
	timer   *time.Timer
}

func newRenewingClient(s *sessiontest.Server, renewAfter time.Duration) *renewingClient {
	return &renewingClient{hc: s.Client(), baseURL: s.BaseURL, acct: s.Account, renewAfter: renewAfter, rearm: true}
}

// Call makes one call with the current session, logging in first if there
// is none and once more if the session turns out to be invalid.
func (c *renewingClient) Call(op string) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		sid := c.session
		c.mu.Unlock()
		if sid == "" {
			if err := c.login(); err != nil {
				return nil, err
			}
			continue
		}
		data, err := post(c.hc, c.baseURL, op, url.Values{"devKey": {c.acct.DevKey}, "sessionId": {sid}})
		if codeOf(err) == fakebill.CodeSessionInvalid && attempt < 2 {
			c.mu.Lock()
			c.session = ""
			c.mu.Unlock()
			continue
		}
		c.used()
		return data, err
	}
}

// login replaces the session and restarts the renewal timer.
func (c *renewingClient) login() error {
	sid, err := login(c.hc, c.baseURL, c.acct)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.session = sid
	c.mu.Unlock()
	c.used()
	return nil
}

// used restarts the idle timer: the fake's 35 minutes start again at every
// use of the session.
func (c *renewingClient) used() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.renewAfter == 0 {
		return
	}
	if c.timer != nil {
		if !c.rearm {
			return
		}
		c.timer.Stop()
	}
	c.timer = time.AfterFunc(c.renewAfter, func() { c.login() })
}

// Close stops the renewal timer.
func (c *renewingClient) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
}

// TestRunSynctest_renewingClient is the example of the package doc: a
// client with its own 34-minute renewal timer, driven through 3 hours of
// virtual time in a testing/synctest bubble. Keep the two in step.
func TestRunSynctest_renewingClient(t *testing.T) {
	sessiontest.RunSynctest(t, func(t *testing.T, s *sessiontest.Server) {
		c := newRenewingClient(s, 34*time.Minute) // re-logs in 34 idle minutes after each use
		defer c.Close()
		if _, err := c.Call("GetSessionInfo.json"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Hour) // virtual: returns at once; the client's timer fires 5 times
		if _, err := c.Call("GetSessionInfo.json"); err != nil {
			t.Fatal(err)
		}
		if got, want := s.Logins(), int64(1+180/34); got != want {
			t.Errorf("Logins() = %d, want %d", got, want)
		}
	})
}
