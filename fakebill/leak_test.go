package fakebill

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLeakRefuse(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	q := url.QueryEscape
	tests := []struct {
		name      string
		target    string
		referer   string
		wantLeaks []Leak
	}{
		{"session id in query", "/api/v2/GetSessionInfo.json?sessionId=" + sid, "", []Leak{{"sessionId", "query"}}},
		{"password under another key", "/api/v2/Crud/Read/Vendor.json?q=" + q(acctA.Password), "", []Leak{{"password", "query"}}},
		{"userName key, empty value", "/api/v2/ListOrgs.json?userName=", "", []Leak{{"userName", "query"}}},
		{"devKey in path", "/api/v2/" + acctA.DevKey + "/Crud.json", "", []Leak{{"devKey", "path"}}},
		{"referer", "/api/v2/GetSessionInfo.json", "http://app.example.invalid/page?devKey=" + acctA.DevKey, []Leak{{"devKey", "referer"}}},
		{"control API route", "/_fakebill/health?password=" + q(acctA.Password), "", []Leak{{"password", "query"}}},
		{"outside the prefix", "/other?sid=abc", "", []Leak{{"sessionId", "query"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formRequest(tt.target, callForm(acctA, sid, ""))
			if tt.referer != "" {
				r.Header.Set("Referer", tt.referer)
			}
			ans := serve(t, s, r)
			if ans.Status != http.StatusBadRequest || ans.code() != CodeSecretInURL {
				t.Fatalf("got %d %q, want 400 %s", ans.Status, ans.code(), CodeSecretInURL)
			}
			msg := ans.message()
			for _, l := range tt.wantLeaks {
				if !strings.Contains(msg, l.Field) || !strings.Contains(msg, "POST body") {
					t.Errorf("message %q does not name %s and the POST body", msg, l.Field)
				}
			}
			for _, sec := range []string{sid, acctA.Password, acctA.DevKey, acctA.UserName} {
				if strings.Contains(ans.Body, sec) {
					t.Errorf("refusal echoes a secret: %s", ans.Body)
				}
			}
			e := lastEntry(t, s)
			if diff := cmp.Diff(tt.wantLeaks, e.Leaks); diff != "" {
				t.Errorf("journaled leaks (-want +got):\n%s", diff)
			}
			if e.Status != http.StatusBadRequest || e.Code != CodeSecretInURL {
				t.Errorf("journal entry status %d code %q", e.Status, e.Code)
			}
		})
	}
	// The session whose id leaked was ended.
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("leaked session afterwards: %q, want %s", got, CodeSessionInvalid)
	}
	if got := len(s.Leaks()); got != len(tests) {
		t.Errorf("Leaks() has %d entries, want %d", got, len(tests))
	}
}

func TestLeakRecord(t *testing.T) {
	s, _ := newTestServer(t, Options{Leaks: LeakRecord})
	sid := login(t, s, acctA)
	tests := []struct {
		name     string
		req      *http.Request
		wantCode string
		wantVia  []string
	}{
		{"session only in the query is accepted", formRequest("/api/v2/GetSessionInfo.json?sessionId="+sid,
			url.Values{"devKey": {acctA.DevKey}}), "", []string{"query"}},
		{"sid key", formRequest("/api/v2/GetSessionInfo.json?sid="+sid,
			url.Values{"devKey": {acctA.DevKey}}), "", []string{"query"}},
		{"field wins over query", formRequest("/api/v2/GetSessionInfo.json?sessionId=x",
			callForm(acctA, sid, "")), "", []string{"field", "query"}},
		{"everything in the query", httptest.NewRequest(http.MethodPost,
			"/api/v2/GetSessionInfo.json?devKey="+acctA.DevKey+"&sessionId="+sid, nil), CodeDevKeyMissing, []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := serve(t, s, tt.req)
			if got := ans.code(); got != tt.wantCode {
				t.Errorf("code = %q, want %q (%s)", got, tt.wantCode, ans.Body)
			}
			e := lastEntry(t, s)
			if len(e.Leaks) == 0 {
				t.Errorf("leak not journaled")
			}
			if diff := cmp.Diff(tt.wantVia, e.SessionVia); diff != "" {
				t.Errorf("session_via (-want +got):\n%s", diff)
			}
		})
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != "" {
		t.Errorf("session after record-mode leaks: %q, want it still live", got)
	}
}

func TestJournalPathRedacted(t *testing.T) {
	s, _ := newTestServer(t, Options{Leaks: LeakRecord})
	sid := login(t, s, acctA)
	post(t, s, "Crud/Read/"+sid+".json", callForm(acctA, sid, ""))
	e := lastEntry(t, s)
	if strings.Contains(e.Path, sid) || strings.Contains(e.Op, sid) {
		t.Fatalf("journal path %q / op %q holds the session id", e.Path, e.Op)
	}
	if !strings.Contains(e.Path, "[REDACTED:sessionId]") {
		t.Errorf("path %q, want the id replaced by [REDACTED:sessionId]", e.Path)
	}
}

func TestRefusedCallCounted(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	post(t, s, "Crud/Read/Vendor.json?sessionId="+sid, callForm(acctA, sid, ""))
	post(t, s, "ListOrgs.json?password=x", nil)
	if e := lastEntry(t, s); e.Op != "ListOrgs" || e.API != "v2" {
		t.Errorf("refused entry op %q api %q, want ListOrgs v2", e.Op, e.API)
	}
	if st := s.Stats(); st.Calls != 1 || st.Logins != 1 {
		t.Errorf("Stats calls %d logins %d, want 1 and 1", st.Calls, st.Logins)
	}
}

func TestLeakEveryReferer(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	tests := []struct {
		name      string
		referers  []string
		wantLeaks []Leak
	}{
		{"id in the second", []string{"http://a.example.invalid/", "http://a.example.invalid/?x=" + sid}, []Leak{{"sessionId", "referer"}}},
		{"key in the third", []string{"http://a.example.invalid/", "http://b.example.invalid/", "http://c.example.invalid/?sid=1"},
			[]Leak{{"sessionId", "referer"}}},
		{"clean ones", []string{"http://a.example.invalid/", "http://b.example.invalid/"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := formRequest("/api/v2/GetSessionInfo.json", url.Values{"devKey": {acctA.DevKey}})
			for _, ref := range tt.referers {
				r.Header.Add("Referer", ref)
			}
			serve(t, s, r)
			if diff := cmp.Diff(tt.wantLeaks, lastEntry(t, s).Leaks); diff != "" {
				t.Errorf("journaled leaks (-want +got):\n%s", diff)
			}
		})
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("session whose id leaked in a Referer: %q, want %s", got, CodeSessionInvalid)
	}
}

func TestLeakUserinfo(t *testing.T) {
	const host = "127.0.0.1"
	tests := []struct {
		name      string
		leaks     LeakMode
		userinfo  func(sid string) string
		wantCode  string
		wantLeaks []Leak
		wantEnded bool
	}{
		{"demo user and password", LeakRefuse, func(string) string { return "demo@example.com:demo-password" },
			CodeSecretInURL, []Leak{{"password", "userinfo"}, {"userName", "userinfo"}}, false},
		{"configured user", LeakRefuse, func(string) string { return url.PathEscape(acctA.UserName) },
			CodeSecretInURL, []Leak{{"userName", "userinfo"}}, false},
		{"any user", LeakRefuse, func(string) string { return "someone" },
			CodeSecretInURL, []Leak{{"userName", "userinfo"}}, false},
		{"session id as password", LeakRefuse, func(sid string) string { return "x:" + sid },
			CodeSecretInURL, []Leak{{"password", "userinfo"}, {"sessionId", "userinfo"}, {"userName", "userinfo"}}, true},
		{"recorded", LeakRecord, func(string) string { return "demo@example.com:demo-password" },
			"", []Leak{{"password", "userinfo"}, {"userName", "userinfo"}}, false},
		{"empty", LeakRefuse, func(string) string { return "" }, "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{Leaks: tt.leaks, Accounts: []Account{acctA, DemoAccount}})
			sid := login(t, s, acctA)
			target := "http://" + tt.userinfo(sid) + "@" + host + "/api/v2/GetSessionInfo.json"
			ans := serve(t, s, formRequest(target, callForm(acctA, sid, "")))
			if got := ans.code(); got != tt.wantCode {
				t.Errorf("code = %q, want %q (%s)", got, tt.wantCode, ans.Body)
			}
			if tt.wantCode != "" && !strings.Contains(ans.message(), "userinfo of the request URL") {
				t.Errorf("message %q, want it to name the userinfo", ans.message())
			}
			for _, sec := range []string{sid, "demo-password", acctA.UserName} {
				if strings.Contains(ans.Body, sec) {
					t.Errorf("answer echoes a secret: %s", ans.Body)
				}
			}
			e := lastEntry(t, s)
			if diff := cmp.Diff(tt.wantLeaks, e.Leaks); diff != "" {
				t.Errorf("journaled leaks (-want +got):\n%s", diff)
			}
			ended := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code() == CodeSessionInvalid
			if ended != tt.wantEnded {
				t.Errorf("session ended = %v, want %v", ended, tt.wantEnded)
			}
		})
	}
}
