package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// served is a fakebill serve running in-process on 127.0.0.1:0.
type served struct {
	base   string // v2 base URL
	root   string // scheme://host:port
	stdout *syncBuffer
	stderr *syncBuffer
	client *http.Client
	active chan struct{} // a connection began a request

	cancel   context.CancelFunc
	done     chan int
	stopOnce sync.Once
	code     int
}

// startServe runs serve with args (after -addr 127.0.0.1:0) and env, and
// returns once it listens. The server stops at the end of the test.
func startServe(t *testing.T, args []string, env map[string]string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{
		stdout: new(syncBuffer),
		stderr: new(syncBuffer),
		cancel: cancel,
		done:   make(chan int, 1),
		client: &http.Client{Transport: &http.Transport{}},
		active: make(chan struct{}, 100),
	}
	urls := make(chan string, 1)
	args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	go func() {
		s.done <- serve(ctx, args, mapEnv(env), s.stdout, s.stderr, &hooks{
			ready: func(u string) { urls <- u },
			connState: func(_ net.Conn, st http.ConnState) {
				if st == http.StateActive {
					select {
					case s.active <- struct{}{}:
					default:
					}
				}
			},
		})
	}()
	select {
	case s.base = <-urls:
	case code := <-s.done:
		cancel()
		t.Fatalf("serve(%q) = %d before listening; stderr:\n%s", args, code, s.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("serve(%q) did not listen within 10s", args)
	}
	u, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	s.root = u.Scheme + "://" + u.Host
	t.Cleanup(func() { s.stop(t) })
	return s
}

// trust makes the test client trust certPEM.
func (s *served) trust(t *testing.T, certPEM []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatalf("no certificate in %q", certPEM)
	}
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
}

// stop cancels the server and returns its exit status.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.stopOnce.Do(func() {
		s.cancel()
		s.client.CloseIdleConnections()
		select {
		case s.code = <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("serve did not stop within 10s")
		}
	})
	return s.code
}

// reply is a v2 answer.
type reply struct {
	HTTPStatus int
	Status     int             `json:"response_status"`
	Message    string          `json:"response_message"`
	Data       json.RawMessage `json:"response_data"`
}

// code returns the error code of an error reply, "" for a success.
func (r reply) code() string {
	var e struct {
		Code string `json:"error_code"`
	}
	json.Unmarshal(r.Data, &e)
	return e.Code
}

// call POSTs form to op ("Login.json") under base and decodes the answer.
func (s *served) call(t *testing.T, base, op string, form url.Values) reply {
	t.Helper()
	resp, err := s.client.PostForm(base+"/"+op, form)
	if err != nil {
		t.Fatalf("POST %s: %v", op, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := reply{HTTPStatus: resp.StatusCode}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("POST %s: %d %q is not a v2 envelope: %v", op, resp.StatusCode, body, err)
	}
	return r
}

// login logs acct in and returns the session id.
func (s *served) login(t *testing.T, acct fakebill.Account) string {
	t.Helper()
	r := s.call(t, s.base, "Login.json", loginForm(acct))
	var d struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || d.SessionID == "" {
		t.Fatalf("Login = %d %s %s, want a session", r.HTTPStatus, r.Message, r.Data)
	}
	return d.SessionID
}

func loginForm(a fakebill.Account) url.Values {
	return url.Values{"userName": {a.UserName}, "password": {a.Password}, "orgId": {a.OrgID}, "devKey": {a.DevKey}}
}

// sessionForm is the form of an authenticated call.
func sessionForm(a fakebill.Account, sid string) url.Values {
	return url.Values{"devKey": {a.DevKey}, "sessionId": {sid}}
}

// control sends a control API request with an optional bearer token and
// returns the status and body.
func (s *served) control(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.root+"/_fakebill"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// advance moves the server clock by d through the control API.
func (s *served) advance(t *testing.T, d string) {
	t.Helper()
	if code, body := s.control(t, "POST", "/clock/advance", `{"by":"`+d+`"}`, ""); code != 200 {
		t.Fatalf("clock/advance %s = %d %s", d, code, body)
	}
}

func TestShutdownEndsLongPolls(t *testing.T) {
	s := startServe(t, nil, nil)
	polled := make(chan error, 1)
	go func() {
		resp, err := s.client.Get(s.root + "/_fakebill/journal?since=0&wait=60s")
		if err == nil {
			resp.Body.Close()
		}
		polled <- err
	}()
	<-s.active // the server is reading the long poll: shutdown must wait for it
	if code := s.stop(t); code != 0 {
		t.Errorf("serve exit status %d, want 0", code)
	}
	if err := <-polled; err != nil {
		t.Errorf("long poll during shutdown: %v, want an answer; stderr:\n%s", err, s.stderr)
	}
	if strings.Contains(s.stderr.String(), "shutdown cut short") {
		t.Errorf("shutdown waited out its bound for a long poll:\n%s", s.stderr)
	}
}
