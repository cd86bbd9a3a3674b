package conformance

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// journal builds entries numbered in order, each completing before the
// next arrives unless the entry sets its own DoneSeq. Seq and DoneSeq
// share one counter here, as the audit needs.
func journal(es ...fakebill.Entry) []fakebill.Entry {
	for i := range es {
		es[i].V, es[i].Seq, es[i].Method, es[i].API = 1, int64(i+1), "POST", "v2"
		if es[i].DoneSeq == 0 {
			es[i].DoneSeq = es[i].Seq
		}
		if es[i].Status == 0 {
			es[i].Status = 200
		}
		if es[i].Time.IsZero() {
			es[i].Time = t0
		}
		es[i].Path = "/api/v2/" + es[i].Op + ".json"
	}
	return es
}

func login(acct, sess string, at time.Duration) fakebill.Entry {
	return fakebill.Entry{Op: "Login", Account: acct, Session: sess, Time: t0.Add(at)}
}

func call(acct, sess, code string) fakebill.Entry {
	return fakebill.Entry{Op: "Crud/Read/Vendor", Account: acct, Session: sess, Code: code, DataSHA256: "d1"}
}

// inFlightResends is a client with three calls in flight at once on an
// expired session, all refused, that then sends the dead session n more
// times before its new login.
func inFlightResends(n int) []fakebill.Entry {
	es := []fakebill.Entry{login("account#1", "session#1", 0)}
	for range 3 {
		c := call("account#1", "session#1", fakebill.CodeSessionInvalid)
		c.DoneSeq = 4
		es = append(es, c)
	}
	for range n {
		es = append(es, call("account#1", "session#1", fakebill.CodeSessionInvalid))
	}
	return journal(append(es, login("account#1", "session#2", 0))...)
}

// statuses maps each passive check to its status.
func statuses(rs []Result) map[string]Status {
	m := map[string]Status{}
	for _, r := range rs {
		m[r.ID] = r.Status
	}
	return m
}

func allPass(fail ...string) map[string]Status {
	m := map[string]Status{
		"audit-secret-in-url": Pass, "audit-stale-session-reuse": Pass,
		"audit-login-storm": Pass, "audit-retry-loop": Pass,
	}
	for _, id := range fail {
		m[id] = Fail
	}
	return m
}

func TestAudit(t *testing.T) {
	leak := call("account#1", "session#1", "")
	leak.Leaks = []fakebill.Leak{{Field: "sessionId", Where: "query"}}

	// Two calls in flight on session#1 when the first BDC_1109 completes:
	// the second is concurrent, not stale.
	concurrentA := call("account#1", "session#1", fakebill.CodeSessionInvalid)
	concurrentA.DoneSeq = 6
	concurrentB := call("account#1", "session#1", fakebill.CodeSessionInvalid)
	concurrentB.DoneSeq = 7

	logout := fakebill.Entry{Op: "Logout", Account: "account#1", Session: "session#1"}
	other := call("account#1", "session#1", "")
	other.DataSHA256 = "d2"

	tests := []struct {
		name        string
		entries     []fakebill.Entry
		opts        *AuditOptions
		want        map[string]Status
		wantDetails []string // substrings of the failures' details
	}{
		{
			name: "clean",
			entries: journal(
				login("account#1", "session#1", 0),
				call("account#1", "session#1", ""),
				call("account#1", "session#1", ""),
				concurrentA, concurrentB,
				login("account#1", "session#2", 40*time.Minute),
				call("account#1", "session#2", ""),
				fakebill.Entry{Op: "Logout", Account: "account#1", Session: "session#2"},
			),
			want: allPass(),
		},
		{
			name:        "secret in a URL",
			entries:     journal(login("account#1", "session#1", 0), leak),
			want:        allPass("audit-secret-in-url"),
			wantDetails: []string{"seq 2 POST /api/v2/Crud/Read/Vendor.json (ok): sessionId in the query"},
		},
		{
			name: "session reused after BDC_1109",
			entries: journal(
				login("account#1", "session#1", 0),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
			),
			want:        allPass("audit-stale-session-reuse"),
			wantDetails: []string{"session#1 sent again after the server answered BDC_1109 at seq 2 (done at 2): seq 3"},
		},
		{
			name: "resends a concurrent client may make",
			entries: journal(
				login("account#1", "session#1", 0),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				login("account#1", "session#2", 0),
			),
			opts: &AuditOptions{StaleResends: 2},
			want: allPass(),
		},
		{
			name:    "resends within the client's observed concurrency",
			entries: inFlightResends(2),
			want:    allPass(),
		},
		{
			name:        "resends beyond the client's observed concurrency",
			entries:     inFlightResends(3),
			want:        allPass("audit-stale-session-reuse", "audit-retry-loop"),
			wantDetails: []string{": seq 7 POST"},
		},
		{
			name:        "no resends excused",
			entries:     inFlightResends(2),
			opts:        &AuditOptions{StaleResends: -1},
			want:        allPass("audit-stale-session-reuse"),
			wantDetails: []string{": seq 5 POST"},
		},
		{
			name: "more resends than excused",
			entries: journal(
				login("account#1", "session#1", 0),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
			),
			opts:        &AuditOptions{StaleResends: 1},
			want:        allPass("audit-stale-session-reuse"),
			wantDetails: []string{": seq 4 POST"},
		},
		{
			name: "session reused after logout",
			entries: journal(
				login("account#1", "session#1", 0),
				logout,
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
			),
			want:        allPass("audit-stale-session-reuse"),
			wantDetails: []string{"session#1 sent again after it was logged out at seq 2"},
		},
		{
			name: "login storm",
			entries: journal(
				login("account#1", "session#1", 0),
				login("account#1", "session#2", time.Minute),
				login("account#2", "session#3", time.Minute),
				login("account#1", "session#4", 2*time.Minute),
				login("account#1", "session#5", 4*time.Minute+59*time.Second),
			),
			want:        allPass("audit-login-storm"),
			wantDetails: []string{"account#1 logged in 4 times within 5m0s of server time (seq 1 at 2026-01-01T00:00:00Z to seq 5"},
		},
		{
			name: "logins spread over the window",
			entries: journal(
				login("account#1", "session#1", 0),
				login("account#1", "session#2", 2*time.Minute),
				login("account#1", "session#3", 4*time.Minute),
				login("account#1", "session#4", 5*time.Minute),
			),
			want: allPass(),
		},
		{
			name: "tighter storm threshold",
			entries: journal(
				login("account#1", "session#1", 0),
				login("account#1", "session#2", 2*time.Minute),
				login("account#1", "session#3", 4*time.Minute),
			),
			opts: &AuditOptions{LoginStormLogins: 2},
			want: allPass("audit-login-storm"),
		},
		{
			name: "retry loop through re-logins",
			entries: journal(
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				login("account#1", "session#2", time.Hour),
				call("account#1", "session#2", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#2", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#2", fakebill.CodeConcurrencyLimit),
			),
			want:        allPass("audit-retry-loop"),
			wantDetails: []string{"account#1 sent Crud/Read/Vendor 6 times in a row, each answered by an error (last BDC_1322; seq 1 to 7)"},
		},
		{
			name: "retries within the limit",
			entries: journal(
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				call("account#1", "session#1", ""),
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
				other,
				call("account#1", "session#1", fakebill.CodeConcurrencyLimit),
			),
			want: allPass(),
		},
		{
			name: "only and skip",
			entries: journal(
				login("account#1", "session#1", 0),
				leak,
				call("account#1", "session#1", fakebill.CodeSessionInvalid),
				call("account#1", "session#1", ""),
			),
			opts: &AuditOptions{Only: []string{"audit-secret-in-url", "audit-stale-session-reuse"}, Skip: []string{"audit-secret-in-url"}},
			want: map[string]Status{"audit-stale-session-reuse": Fail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Audit(tt.entries, tt.opts)
			if err != nil {
				t.Fatalf("Audit: %v", err)
			}
			if diff := cmp.Diff(tt.want, statuses(got)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			var details []string
			for _, r := range got {
				details = append(details, r.Details...)
			}
			all := strings.Join(details, "\n")
			for _, w := range tt.wantDetails {
				if !strings.Contains(all, w) {
					t.Errorf("details lack %q; got:\n%s", w, all)
				}
			}
		})
	}
}

func TestAuditCapsFindings(t *testing.T) {
	var es []fakebill.Entry
	for range 25 {
		e := call("account#1", "session#1", "")
		e.Leaks = []fakebill.Leak{{Field: "devKey", Where: "query"}}
		es = append(es, e)
	}
	got, err := Audit(journal(es...), &AuditOptions{Only: []string{"audit-secret-in-url"}})
	if err != nil {
		t.Fatal(err)
	}
	d := got[0].Details
	if len(d) != maxFindings+3 || d[maxFindings] != "and 15 more" || !strings.HasPrefix(d[maxFindings+1], "expected: ") {
		t.Errorf("details = %q, want %d findings, %q, then expected and source", d, maxFindings, "and 15 more")
	}
}

func TestAuditBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts *AuditOptions
		want string
	}{
		{"unknown id", &AuditOptions{Only: []string{"audit-nope"}}, `unknown check "audit-nope"`},
		{"unknown skip", &AuditOptions{Skip: []string{"nope"}}, `unknown check "nope"`},
		{"active check", &AuditOptions{Only: []string{"reuse-session"}}, `"reuse-session" is an active check`},
		{"nothing left", &AuditOptions{Skip: []string{"audit-secret-in-url", "audit-stale-session-reuse", "audit-login-storm", "audit-retry-loop"}}, "no check selected"},
		{"negative", &AuditOptions{RetryLoopRepeats: -1}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Audit(nil, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Audit error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestAuditConcurrentTrafficIsNotStale drives a real fake: three calls
// meet the same expired session at once (held together by a barrier),
// all get BDC_1109, and the client logs in once and goes on. None of the
// three is a stale reuse.
func TestAuditConcurrentTrafficIsNotStale(t *testing.T) {
	acct := fakebill.DemoAccount
	clk := fakebill.NewManualClock(t0)
	srv, err := fakebill.NewServer(fakebill.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	post := func(path string, form url.Values) string {
		resp, err := http.PostForm(ts.URL+"/api/v2/"+path, form)
		if err != nil {
			t.Error(err)
			return ""
		}
		defer resp.Body.Close()
		var env struct {
			Data struct {
				SessionID string `json:"sessionId"`
				Code      string `json:"error_code"`
			} `json:"response_data"`
		}
		json.NewDecoder(resp.Body).Decode(&env)
		return env.Data.SessionID + env.Data.Code
	}
	creds := url.Values{"userName": {acct.UserName}, "password": {acct.Password}, "orgId": {acct.OrgID}, "devKey": {acct.DevKey}}
	sid := post("Login.json", creds)
	label := srv.Sessions(0)[0].Session
	if err := srv.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Session: label}, Barrier: &fakebill.Barrier{N: 3}, Times: 3}); err != nil {
		t.Fatal(err)
	}
	clk.Add(36 * time.Minute)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if got := post("GetSessionInfo.json", url.Values{"devKey": {acct.DevKey}, "sessionId": {sid}}); got != fakebill.CodeSessionInvalid {
				t.Errorf("a call on the expired session got %q, want BDC_1109", got)
			}
		})
	}
	wg.Wait()
	sid = post("Login.json", creds)
	post("GetSessionInfo.json", url.Values{"devKey": {acct.DevKey}, "sessionId": {sid}})

	entries, _ := srv.Journal(0)
	// All three arrived before any completed (the barrier held them).
	for _, e := range entries[1:4] {
		if e.DoneSeq < entries[3].Seq {
			t.Errorf("seq %d has done_seq %d, want at least %d: done_seq must be on the arrival scale", e.Seq, e.DoneSeq, entries[3].Seq)
		}
	}
	got, err := Audit(entries, &AuditOptions{Only: []string{"audit-stale-session-reuse"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Status != Pass {
		t.Errorf("concurrent calls judged stale: %q", got[0].Details)
	}
}
