package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// front stands before the fake: it buffers each answer until the fake has
// journaled the request (so a returned call is always in the journal),
// learns the session ids Login mints (to scan output for them), enforces
// the per-call request budget, and can strip sessionId from Login answers.
type front struct {
	fake http.Handler

	mu       sync.Mutex
	minted   []string
	budget   int
	used     int
	cancel   context.CancelFunc
	inFlight int         // calls other than Login in the fake right now
	peak     int         // the most in flight at once since arm
	stripped atomic.Bool // Login answers carry no sessionId
}

func (f *front) arm(budget int, cancel context.CancelFunc) {
	f.mu.Lock()
	f.budget, f.used, f.cancel, f.peak = budget, 0, cancel, 0
	f.mu.Unlock()
}

// peakInFlight reports the most non-Login requests the fake held at once
// since the last arm.
//
// The journal shows overlap too, once requests complete (done_seq is on
// the arrival scale); counting here also sees requests still held.
func (f *front) peakInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

func (f *front) disarm() {
	f.mu.Lock()
	f.budget, f.cancel = 0, nil
	f.mu.Unlock()
}

func (f *front) sessionIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.minted...)
}

func (f *front) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	isLogin := strings.HasSuffix(req.URL.Path, "/Login.json")
	f.mu.Lock()
	over := false
	if f.budget > 0 {
		f.used++
		if f.used > f.budget {
			over = true
			f.cancel()
		}
	}
	if !over && !isLogin {
		f.inFlight++
		f.peak = max(f.peak, f.inFlight)
	}
	f.mu.Unlock()
	if over {
		http.Error(w, "conformance runner: request budget for this call exhausted", http.StatusServiceUnavailable)
		return
	}

	rec := httptest.NewRecorder()
	f.fake.ServeHTTP(rec, req)
	if !isLogin {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
	body := rec.Body.Bytes()
	if isLogin {
		body = f.login(rec, body)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// login records the session id a Login answer carries and, when asked,
// strips it from the answer and its cookie.
func (f *front) login(rec *httptest.ResponseRecorder, body []byte) []byte {
	var env struct {
		Status int `json:"response_status"`
		Data   struct {
			SessionID string `json:"sessionId"`
		} `json:"response_data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Status != 0 || env.Data.SessionID == "" {
		return body
	}
	f.mu.Lock()
	f.minted = append(f.minted, env.Data.SessionID)
	f.mu.Unlock()
	if !f.stripped.Load() {
		return body
	}
	rec.Header().Del("Set-Cookie")
	var whole map[string]any
	var data map[string]any
	if json.Unmarshal(body, &whole) != nil {
		return body
	}
	raw, _ := json.Marshal(whole["response_data"])
	if json.Unmarshal(raw, &data) == nil {
		delete(data, "sessionId")
		whole["response_data"] = data
	}
	out, _ := json.Marshal(whole)
	return out
}

// loopback serves the front on a loopback socket or an in-memory listener.
type loopback struct {
	url    string
	client *http.Client
	close  func()
}

func newSocket(h http.Handler) *loopback {
	ts := httptest.NewServer(h)
	tr := &http.Transport{
		// No proxy, whatever the environment says: the fake is local.
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
	}
	return &loopback{
		url:    ts.URL,
		client: &http.Client{Transport: tr},
		close: func() {
			tr.CloseIdleConnections()
			ts.Close()
		},
	}
}
