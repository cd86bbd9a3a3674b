// Package bench measures the fake server against floor handlers: the least
// a correct Bill.com v2 server could do for the same request on net/http.
// A floor has no leak check, no journal, no faults and no fixtures, so the
// distance between it and [fakebill.Server] is the price of those.
//
// The benchmarks live in this package's tests; docs/PERFORMANCE.md gives
// the commands and the figures.
package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// Floor is a minimal v2 server for one account: Login parses the form,
// compares the credentials, mints a crypto/rand id, stores it in a map
// under a mutex and answers JSON; every other *.json call parses the form,
// looks the session up, refreshes its last use and answers JSON. It
// checks what a correct server must (devKey, idle expiry) and nothing
// more. A Floor is safe for concurrent use.
type Floor struct {
	acct fakebill.Account
	idle time.Duration
	now  func() time.Time

	mu       sync.Mutex
	sessions map[string]*floorSession
}

type floorSession struct {
	lastUse time.Time
}

// NewFloor returns a Floor serving acct with the given idle timeout and
// clock.
func NewFloor(acct fakebill.Account, idle time.Duration, now func() time.Time) *Floor {
	return &Floor{acct: acct, idle: idle, now: now, sessions: make(map[string]*floorSession)}
}

// Len returns the number of stored sessions.
func (f *Floor) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// ServeHTTP answers Login.json and any other *.json call.
func (f *Floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, ".json") {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		floorError(w, fakebill.CodeInvalidParameter)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/Login.json") {
		f.login(w, r)
		return
	}
	f.call(w, r)
}

func (f *Floor) login(w http.ResponseWriter, r *http.Request) {
	a := &f.acct
	if r.PostForm.Get("devKey") != a.DevKey {
		floorError(w, fakebill.CodeBadDevKey)
		return
	}
	if r.PostForm.Get("userName") != a.UserName || r.PostForm.Get("password") != a.Password ||
		r.PostForm.Get("orgId") != a.OrgID {
		floorError(w, fakebill.CodeBadCredentials)
		return
	}
	var raw [24]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	now := f.now()
	f.mu.Lock()
	f.sessions[id] = &floorSession{lastUse: now}
	f.mu.Unlock()
	floorJSON(w, floorEnvelope{Message: "Success", Data: floorLogin{
		SessionID: id, OrgID: a.OrgID, APIEndPoint: "http://" + r.Host + "/api/v2", UsersID: a.UsersID,
	}})
}

func (f *Floor) call(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("devKey") != f.acct.DevKey {
		floorError(w, fakebill.CodeBadDevKey)
		return
	}
	id := r.PostForm.Get("sessionId")
	now := f.now()
	f.mu.Lock()
	s := f.sessions[id]
	live := s != nil && now.Sub(s.lastUse) < f.idle
	if live {
		s.lastUse = now
	}
	f.mu.Unlock()
	if !live {
		floorError(w, fakebill.CodeSessionInvalid)
		return
	}
	floorJSON(w, floorEnvelope{Message: "Success", Data: struct{}{}})
}

func floorError(w http.ResponseWriter, code string) {
	floorJSON(w, floorEnvelope{Status: 1, Message: "Error", Data: floorErr{code, fakebill.Message(code)}})
}

// The floor's answers are typed, as the cheapest encoding is.
type floorEnvelope struct {
	Status  int    `json:"response_status"`
	Message string `json:"response_message"`
	Data    any    `json:"response_data"`
}

type floorLogin struct {
	SessionID   string `json:"sessionId"`
	OrgID       string `json:"orgId"`
	APIEndPoint string `json:"apiEndPoint"`
	UsersID     string `json:"usersId"`
}

type floorErr struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

func floorJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
