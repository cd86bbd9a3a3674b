package fakebill

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/internal/version"
)

// ctl sends a control API request and decodes its JSON answer into out
// when out is not nil.
func ctl(t testing.TB, s http.Handler, method, path, body string, mods ...func(*http.Request)) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "/_fakebill"+path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, m := range mods {
		m(r)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); path != "/cert" && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want JSON", method, path, ct)
	}
	return w.Code, strings.TrimSpace(w.Body.String())
}

func TestControlHealth(t *testing.T) {
	want := `{"status":"ok","version":"` + version.Version + `"}`
	tests := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"disabled", Options{AdminDisabled: true}},
		{"token", Options{AdminToken: "s3cret-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, tt.opts)
			if code, body := ctl(t, s, "GET", "/health", ""); code != 200 || body != want {
				t.Errorf("health = %d %s, want 200 %s", code, body, want)
			}
		})
	}
}

func TestControlAccess(t *testing.T) {
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	tests := []struct {
		name     string
		opts     Options
		mods     []func(*http.Request)
		wantCode int
	}{
		{"open", Options{}, nil, 200},
		{"disabled", Options{AdminDisabled: true}, nil, 404},
		{"token missing", Options{AdminToken: "s3cret-token"}, nil, 401},
		{"token wrong", Options{AdminToken: "s3cret-token"}, []func(*http.Request){bearer("guess")}, 401},
		{"token right", Options{AdminToken: "s3cret-token"}, []func(*http.Request){bearer("s3cret-token")}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, tt.opts)
			code, body := ctl(t, s, "GET", "/stats", "", tt.mods...)
			if code != tt.wantCode {
				t.Errorf("GET /stats = %d, want %d", code, tt.wantCode)
			}
			if code != 200 && !strings.HasPrefix(body, `{"error":`) {
				t.Errorf("refusal body %s, want {\"error\":...}", body)
			}
			if strings.Contains(body, "s3cret-token") {
				t.Errorf("answer echoes the admin token")
			}
		})
	}
}

func TestControlClock(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	tests := []struct {
		method, path, body string
		wantCode           int
		wantBody           string
	}{
		{"GET", "/clock", "", 200, `{"now":"2026-01-01T00:00:00Z","mode":"manual","offset_ms":0}`},
		{"POST", "/clock/advance", `{"by":"35m"}`, 200, `{"now":"2026-01-01T00:35:00Z","mode":"manual","offset_ms":2100000}`},
		{"POST", "/clock/advance", `{"by":"-1s"}`, 400, `{"error":"the clock cannot go backwards"}`},
		{"POST", "/clock/advance", `{"by":"soon"}`, 400, ""},
		{"POST", "/clock/advance", `{"by":"1s","extra":1}`, 400, ""},
		{"POST", "/clock/advance", ``, 400, ""},
		{"POST", "/clock/set", `{"now":"2026-01-02T15:04:05Z"}`, 200, `{"now":"2026-01-02T15:04:05Z","mode":"manual","offset_ms":140645000}`},
		{"POST", "/clock/set", `{"now":"2026-01-01T00:00:00Z"}`, 400, `{"error":"the clock cannot go backwards"}`},
		{"POST", "/clock/set", `{"now":"yesterday"}`, 400, ""},
		{"GET", "/clock/advance", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path+tt.body, func(t *testing.T) {
			code, body := ctl(t, s, tt.method, tt.path, tt.body)
			if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("got %d %s, want %d %s", code, body, tt.wantCode, tt.wantBody)
			}
			if code >= 400 && !strings.HasPrefix(body, `{"error":`) {
				t.Errorf("error body %s lacks the error field", body)
			}
		})
	}
	if got, want := clk.Now(), time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC); !got.Equal(want) {
		t.Errorf("clock = %v, want %v", got, want)
	}
}

func TestControlClockInjected(t *testing.T) {
	s, err := NewServer(Options{Clock: ClockFunc(func() time.Time { return DefaultStartTime })})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ path, body string }{{"/clock/advance", `{"by":"1m"}`}, {"/clock/set", `{"now":"2027-01-01T00:00:00Z"}`}} {
		if code, _ := ctl(t, s, "POST", p.path, p.body); code != http.StatusConflict {
			t.Errorf("POST %s on an unmovable clock = %d, want 409", p.path, code)
		}
	}
	if code, body := ctl(t, s, "GET", "/clock", ""); code != 200 || !strings.Contains(body, `"mode":"injected"`) {
		t.Errorf("GET /clock = %d %s, want mode injected", code, body)
	}
	if code, _ := ctl(t, s, "POST", "/faults", `{"match":{"path":"*"},"delay":"1s"}`); code != http.StatusConflict {
		t.Errorf("POST /faults with a delay on an unmovable clock = %d, want 409", code)
	}
}

func TestControlRealClock(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctl(t, s, "POST", "/clock/advance", `{"by":"1h"}`)
	var c clockAnswer
	_, body := ctl(t, s, "GET", "/clock", "")
	json.Unmarshal([]byte(body), &c)
	if c.Mode != "real" || c.OffsetMS != 3600000 {
		t.Errorf("clock after advance = %+v, want mode real, offset 3600000", c)
	}
	ctl(t, s, "POST", "/reset", "")
	_, body = ctl(t, s, "GET", "/clock", "")
	json.Unmarshal([]byte(body), &c)
	if c.OffsetMS != 0 {
		t.Errorf("offset after reset = %d, want 0", c.OffsetMS)
	}
}

func TestControlSessions(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	login(t, s, acctA)
	clk.Add(time.Minute)
	login(t, s, acctB)
	login(t, s, acctC)
	clk.Add(time.Minute)

	code, body := ctl(t, s, "GET", "/sessions?limit=2", "")
	var got []SessionInfo
	json.Unmarshal([]byte(body), &got)
	t0 := DefaultStartTime
	want := []SessionInfo{
		{"session#1", "account#1", t0, t0, (33 * time.Minute).Milliseconds()},
		{"session#2", "account#2", t0.Add(time.Minute), t0.Add(time.Minute), (34 * time.Minute).Milliseconds()},
	}
	if code != 200 {
		t.Fatalf("GET /sessions = %d %s", code, body)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	if code, _ := ctl(t, s, "GET", "/sessions?limit=x", ""); code != 400 {
		t.Errorf("limit=x: %d, want 400", code)
	}

	tests := []struct {
		body      string
		wantCode  int
		wantEnded int
	}{
		{`{"session":"session#2"}`, 200, 1},
		{`{"session":"session#2"}`, 200, 0},
		{`{"account":"account#1"}`, 200, 1},
		{`{"account_org":"` + acctC.OrgID + `"}`, 200, 1},
		{`{"all":true}`, 200, 0},
		{``, 400, 0},
		{`{}`, 400, 0},
		{`{"all":false}`, 400, 0},
		{`{"session":"session#1","all":true}`, 400, 0},
		{`{"session":"3"}`, 400, 0},
		{`{"account":"acct"}`, 400, 0},
		{`{"sessions":"session#1"}`, 400, 0},
		{`[1]`, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			code, body := ctl(t, s, "POST", "/sessions/end", tt.body)
			if code != tt.wantCode {
				t.Fatalf("POST /sessions/end %s = %d %s, want %d", tt.body, code, body, tt.wantCode)
			}
			if code == 200 {
				var ans struct{ Ended int }
				json.Unmarshal([]byte(body), &ans)
				if ans.Ended != tt.wantEnded {
					t.Errorf("ended = %d, want %d", ans.Ended, tt.wantEnded)
				}
			}
		})
	}
	if _, body := ctl(t, s, "GET", "/sessions", ""); body != "[]" {
		t.Errorf("sessions after ending all = %s, want []", body)
	}
}

func TestControlJournal(t *testing.T) {
	s, _ := newTestServer(t, Options{JournalSize: 2})
	for range 3 {
		post(t, s, "GetSessionInfo.json", nil)
	}
	var ans journalAnswer
	code, body := ctl(t, s, "GET", "/journal?since=2", "")
	json.Unmarshal([]byte(body), &ans)
	if code != 200 || len(ans.Entries) != 1 || ans.Entries[0].Seq != 3 || ans.Dropped != 1 {
		t.Errorf("GET /journal?since=2 = %d %s, want entry 3 and dropped 1", code, body)
	}
	for _, q := range []string{"since=-1", "since=x", "wait=x", "wait=-1s"} {
		if code, _ := ctl(t, s, "GET", "/journal?"+q, ""); code != 400 {
			t.Errorf("GET /journal?%s = %d, want 400", q, code)
		}
	}
	if code, _ := ctl(t, s, "DELETE", "/journal", ""); code != 200 {
		t.Errorf("DELETE /journal = %d", code)
	}
	if _, body := ctl(t, s, "GET", "/journal", ""); body != `{"entries":[],"dropped":1}` {
		t.Errorf("journal after DELETE = %s", body)
	}
}

func TestControlJournalWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		start := time.Now()
		if _, body := ctl(t, s, "GET", "/journal?wait=5s", ""); body != `{"entries":[],"dropped":0}` {
			t.Errorf("empty wait = %s", body)
		}
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("wait=5s returned after %v", took)
		}
		done := make(chan string)
		go func() {
			_, body := ctl(t, s, "GET", "/journal?since=0&wait=1m", "")
			done <- body
		}()
		synctest.Wait()
		start = time.Now()
		post(t, s, "GetSessionInfo.json", nil)
		body := <-done
		if !strings.Contains(body, `"seq":1`) || time.Since(start) != 0 {
			t.Errorf("long-poll answered %s after %v, want entry 1 at once", body, time.Since(start))
		}
	})
}

func TestControlFaultsAndFixtures(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	steps := []struct {
		method, path, body string
		wantCode           int
		wantBody           string
	}{
		{"GET", "/faults", "", 200, `[]`},
		{"POST", "/faults", `{"match":{"path":"*"},"reply":{"code":"BDC_1322"},"times":2,"real_delay":"1ms"}`, 200,
			`[{"match":{"path":"*"},"reply":{"code":"BDC_1322"},"times":2,"real_delay_ms":1}]`},
		{"POST", "/faults", `{"match":{"session":"session#1"},"barrier":{"n":3,"timeout":"2s"}}`, 200,
			`[{"match":{"path":"*"},"reply":{"code":"BDC_1322"},"times":2,"real_delay_ms":1},{"match":{"session":"session#1"},"times":0,"barrier":{"n":3,"timeout_ms":2000}}]`},
		{"POST", "/faults", `{"match":{"path":"*"},"reply":{"code":"BDC_1"}}`, 400, ""},
		{"POST", "/faults", `{"match":{"path":"*"},"reply":{"code":"BDC_1322"},"when":"now"}`, 400, ""},
		{"DELETE", "/faults", "", 200, `{"cleared":true}`},
		{"GET", "/faults", "", 200, `[]`},
		{"GET", "/fixtures", "", 200, `[]`},
		{"POST", "/fixtures", `{"path":"Crud/Read/Vendor.json","response_data":{"id":"0091"}}`, 200, `["Crud/Read/Vendor.json"]`},
		{"POST", "/fixtures", `{"path":"Crud/Read/Vendor.json"}`, 400, ""},
		{"POST", "/fixtures", `{"path":"X.json","response_data":1,"status":2}`, 400, ""},
		{"PUT", "/fixtures", "", 405, ""},
	}
	for _, st := range steps {
		code, body := ctl(t, s, st.method, st.path, st.body)
		if code != st.wantCode || (st.wantBody != "" && body != st.wantBody) {
			t.Errorf("%s %s %s = %d %s, want %d %s", st.method, st.path, st.body, code, body, st.wantCode, st.wantBody)
		}
	}
	if got := string(post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).Env.Data); got != `{"id":"0091"}` {
		t.Errorf("fixture set through the control API answered %s", got)
	}
	ctl(t, s, "DELETE", "/fixtures", "")
	if got := s.Fixtures(); len(got) != 0 {
		t.Errorf("fixtures after DELETE: %v", got)
	}
}

func TestControlLeaksStatsCert(t *testing.T) {
	s, _ := newTestServer(t, Options{Leaks: LeakRecord, CertPEM: []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")})
	sid := login(t, s, acctA)
	post(t, s, "GetSessionInfo.json?x=1", callForm(acctA, sid, ""))
	post(t, s, "GetSessionInfo.json?sessionId="+sid, callForm(acctA, sid, ""))

	_, body := ctl(t, s, "GET", "/leaks", "")
	var leaks []Entry
	json.Unmarshal([]byte(body), &leaks)
	if len(leaks) != 1 || leaks[0].Seq != 3 || strings.Contains(body, sid) {
		t.Errorf("GET /leaks = %s, want entry 3 only, without the id", body)
	}

	_, body = ctl(t, s, "GET", "/stats", "")
	var st Stats
	json.Unmarshal([]byte(body), &st)
	if st.LiveSessions != 1 || st.PeakSessions != 1 || st.JournalLen != 3 || st.Logins != 1 || st.Calls != 2 || st.HeapInuseBytes == 0 {
		t.Errorf("GET /stats = %s", body)
	}

	code, body := ctl(t, s, "GET", "/cert", "")
	if code != 200 || !strings.HasPrefix(body, "-----BEGIN CERTIFICATE-----") {
		t.Errorf("GET /cert = %d %s", code, body)
	}
	plain, _ := newTestServer(t, Options{})
	if code, _ := ctl(t, plain, "GET", "/cert", ""); code != 404 {
		t.Errorf("GET /cert without TLS = %d, want 404", code)
	}
}

func TestControlReset(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	clk.Add(2 * time.Hour)
	s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: CodeSystemError}})
	s.SetFixture("A.json", 1)
	post(t, s, "GetSessionInfo.json", nil)

	code, body := ctl(t, s, "POST", "/reset", "")
	if code != 200 || body != `{"now":"2026-01-01T00:00:00Z","mode":"manual","offset_ms":0}` {
		t.Errorf("POST /reset = %d %s", code, body)
	}
	if j, _ := s.Journal(0); len(j) != 0 || len(s.Faults()) != 0 || len(s.Fixtures()) != 0 {
		t.Errorf("after reset: %d entries, %d faults, %d fixtures; want none", len(j), len(s.Faults()), len(s.Fixtures()))
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("old session after reset: %q, want %s", got, CodeSessionInvalid)
	}
	sid2 := login(t, s, acctA)
	if e := lastEntry(t, s); e.Seq != 4 || e.Session != "session#2" {
		t.Errorf("after reset seq %d session %q, want 4 and session#2 (counters continue)", e.Seq, e.Session)
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid2, "")).code(); got != "" {
		t.Errorf("new session after reset: %q", got)
	}
	if n := s.Stats().LiveSessions; n != 1 {
		t.Errorf("live sessions after reset and one login = %d, want 1", n)
	}
	if code, _ := ctl(t, s, "POST", "/reset", `{"x":1}`); code != 400 {
		t.Errorf("POST /reset with unknown field = %d, want 400", code)
	}
}

func TestControlUnknownRoute(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, p := range []string{"", "/", "/nothing", "//health", "/health/"} {
		code, body := ctl(t, s, "GET", p, "")
		if code != 404 || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("GET /_fakebill%s = %d %s, want 404 JSON error", p, code, body)
		}
	}
}

func TestControlErrorsRedacted(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	tests := []struct{ path, body string }{
		{"/sessions/end", `{"` + sid + `":1}`},
		{"/faults", `{"match":{"path":"*"},"reply":{"code":"` + acctA.Password + `"}}`},
		{"/fixtures", `{"path":"a//` + acctA.DevKey + `","response_data":1}`},
		{"/clock/advance", `{"` + acctA.UserName + `":"1s"}`},
	}
	for _, tt := range tests {
		code, body := ctl(t, s, "POST", tt.path, tt.body)
		if code != 400 {
			t.Errorf("POST %s = %d, want 400", tt.path, code)
		}
		for _, sec := range []string{sid, acctA.Password, acctA.DevKey, acctA.UserName} {
			if strings.Contains(body, sec) {
				t.Errorf("POST %s: error %s echoes a secret", tt.path, body)
			}
		}
		if !strings.Contains(body, "[REDACTED:") {
			t.Errorf("POST %s: error %s, want the echoed secret redacted", tt.path, body)
		}
	}
}

func TestControlBodies(t *testing.T) {
	s, _ := newTestServer(t, Options{AdminToken: "tok-123456"})
	auth := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	if code, _ := ctl(t, s, "GET", "/clock", "", auth("bearer tok-123456")); code != 200 {
		t.Errorf("lower-case bearer scheme: %d, want 200", code)
	}
	if code, _ := ctl(t, s, "GET", "/clock", "", auth("Basic tok-123456")); code != 401 {
		t.Errorf("Basic scheme: %d, want 401", code)
	}
	big := `{"by":"` + strings.Repeat("1", maxControlBody) + `"}`
	if code, _ := ctl(t, s, "POST", "/clock/advance", big, auth("Bearer tok-123456")); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize control body: %d, want 413", code)
	}
	if code, _ := ctl(t, s, "POST", "/clock/advance", `{"by":"1s"} {"by":"1s"}`, auth("Bearer tok-123456")); code != 400 {
		t.Errorf("two JSON objects: %d, want 400", code)
	}
	r := httptest.NewRequest("POST", "/_fakebill/reset", strings.NewReader(""))
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer tok-123456")
	if a := serve(t, s, r); a.Status != 200 {
		t.Errorf("reset with an empty chunked body: %d %s", a.Status, a.Body)
	}
}

func TestControlEchoesNoSecret(t *testing.T) {
	s, _ := newTestServer(t, Options{Accounts: []Account{acctA, DemoAccount}})
	sid := login(t, s, acctA)
	secrets := []string{sid, DemoAccount.Password, acctA.Password, acctA.DevKey}
	steps := []struct {
		method, path, body string
		wantCode           int
		wantBody           string // "" means any
	}{
		{"POST", "/faults", `{"match":{"session":"` + sid + `"},"reply":{"code":"BDC_1001"}}`, 400,
			`{"error":"bad fault: match session: want a label such as \"session#3\""}`},
		{"POST", "/faults", `{"match":{"session":"account#1"},"reply":{"code":"BDC_1001"}}`, 400, ""},
		{"POST", "/faults", `{"match":{"session":"session#1x"},"reply":{"code":"BDC_1001"}}`, 400, ""},
		{"POST", "/faults", `{"match":{"op":"` + acctA.Password + `"},"reply":{"code":"BDC_1001"}}`, 200,
			`[{"match":{"op":"[REDACTED:password]"},"reply":{"code":"BDC_1001"},"times":0}]`},
		{"POST", "/faults", `{"match":{"path":"x/` + acctA.DevKey + `.json"},"reply":{"code":"BDC_1001"}}`, 200, ""},
		{"GET", "/faults", "", 200,
			`[{"match":{"op":"[REDACTED:password]"},"reply":{"code":"BDC_1001"},"times":0},{"match":{"path":"x/[REDACTED:devKey].json"},"reply":{"code":"BDC_1001"},"times":0}]`},
		{"POST", "/fixtures", `{"path":"demo-password.json","response_data":{}}`, 200, `["[REDACTED:password].json"]`},
		{"POST", "/fixtures", `{"path":"/` + sid + `//x","response_data":{}}`, 400, ""},
		{"GET", "/fixtures", "", 200, `["[REDACTED:password].json"]`},
	}
	for _, st := range steps {
		code, body := ctl(t, s, st.method, st.path, st.body)
		if code != st.wantCode || (st.wantBody != "" && body != st.wantBody) {
			t.Errorf("%s %s %.80s = %d %s, want %d %s", st.method, st.path, st.body, code, body, st.wantCode, st.wantBody)
		}
		for _, sec := range secrets {
			if strings.Contains(body, sec) {
				t.Errorf("%s %s answer %s echoes a secret", st.method, st.path, body)
			}
		}
	}
	if err := s.AddFault(Fault{Match: FaultMatch{Session: sid}, Reply: &FaultReply{Code: CodeSystemError}}); !errors.Is(err, ErrBadFault) {
		t.Errorf("AddFault matching a raw session id = %v, want %v", err, ErrBadFault)
	}
	for _, p := range []string{"/" + DemoAccount.Password + "//x", ""} {
		err := s.SetFixture(p, func() {})
		if err == nil || strings.Contains(err.Error(), DemoAccount.Password) {
			t.Errorf("SetFixture(%q) = %v, want an error without the secret", p, err)
		}
	}
	if err := s.SetFixture(DemoAccount.Password, func() {}); err == nil || strings.Contains(err.Error(), DemoAccount.Password) {
		t.Errorf("SetFixture of an unencodable value = %v, want an error without the secret", err)
	}
}
