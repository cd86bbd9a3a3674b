package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/fakebill"
)

// entryLines renders entries as a journal file would hold them, in the
// given order, numbering seq and done_seq by position unless set.
func entryLines(es ...fakebill.Entry) string {
	var b strings.Builder
	for i, e := range es {
		e.V = fakebill.EntryVersion
		if e.Seq == 0 {
			e.Seq = int64(i + 1)
		}
		if e.DoneSeq == 0 {
			e.DoneSeq = e.Seq
		}
		if e.Status == 0 {
			e.Status = 200
		}
		if e.Time.IsZero() {
			e.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		e.Method, e.API = "POST", "v2"
		e.Path = "/api/v2/" + e.Op + ".json"
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func jentry(op, session, code string) fakebill.Entry {
	return fakebill.Entry{Op: op, Account: "account#1", Session: session, Code: code}
}

func runAuditArgs(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runAudit(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestAuditFile(t *testing.T) {
	leak := jentry("GetSessionInfo", "session#1", "")
	leak.Leaks = []fakebill.Leak{{Field: "devKey", Where: "query"}}
	late, early := jentry("GetSessionInfo", "session#1", ""), jentry("GetSessionInfo", "session#1", "")
	late.Seq, early.Seq = 3, 2
	storm := []fakebill.Entry{
		jentry("Login", "session#1", ""), jentry("Login", "session#2", ""),
		jentry("Login", "session#3", ""), jentry("Login", "session#4", ""),
	}

	tests := []struct {
		name       string
		journal    string
		flags      []string
		wantCode   int
		wantStdout []string
		wantStderr string
	}{
		{
			name:       "clean",
			journal:    entryLines(jentry("Login", "session#1", ""), jentry("GetSessionInfo", "session#1", ""), jentry("Logout", "session#1", "")),
			wantCode:   0,
			wantStdout: []string{"PASS  MUST   audit-secret-in-url\n", "\n4 passed, 0 failed, 0 skipped\n"},
		},
		{
			name:       "completion order and blank lines",
			journal:    entryLines(jentry("Login", "session#1", ""), late, early) + "\n\n",
			wantCode:   0,
			wantStdout: []string{"4 passed"},
		},
		{
			name:       "leak",
			journal:    entryLines(jentry("Login", "session#1", ""), leak),
			wantCode:   1,
			wantStdout: []string{"FAIL  MUST   audit-secret-in-url\n", "seq 2 POST /api/v2/GetSessionInfo.json (ok): devKey in the query"},
		},
		{
			name:       "stale reuse",
			journal:    entryLines(jentry("Login", "session#1", ""), jentry("Logout", "session#1", ""), jentry("GetSessionInfo", "session#1", fakebill.CodeSessionInvalid)),
			wantCode:   1,
			wantStdout: []string{"FAIL  MUST   audit-stale-session-reuse\n", "session#1 sent again after it was logged out at seq 2"},
		},
		{
			name: "resends excused",
			journal: entryLines(jentry("Login", "session#1", ""),
				jentry("GetSessionInfo", "session#1", fakebill.CodeSessionInvalid),
				jentry("GetSessionInfo", "session#1", fakebill.CodeSessionInvalid)),
			flags:      []string{"-stale-resends", "1"},
			wantCode:   0,
			wantStdout: []string{"PASS  MUST   audit-stale-session-reuse\n"},
		},
		{
			name:       "storm is a SHOULD",
			journal:    entryLines(storm...),
			wantCode:   0,
			wantStdout: []string{"FAIL  SHOULD audit-login-storm (not enforced; -strict enforces it)\n", "account#1 logged in 4 times within 5m0s"},
		},
		{
			name:     "storm under -strict",
			journal:  entryLines(storm...),
			flags:    []string{"-strict"},
			wantCode: 1,
		},
		{
			name:       "storm threshold raised",
			journal:    entryLines(storm...),
			flags:      []string{"-strict", "-login-storm-logins", "4"},
			wantCode:   0,
			wantStdout: []string{"PASS  SHOULD audit-login-storm\n"},
		},
		{
			name: "retry loop",
			journal: entryLines(
				jentry("Login", "session#1", ""),
				jentry("Crud/Read/Vendor", "session#1", fakebill.CodeHourlyLimit),
				jentry("Crud/Read/Vendor", "session#1", fakebill.CodeHourlyLimit),
				jentry("Crud/Read/Vendor", "session#1", fakebill.CodeHourlyLimit),
			),
			flags:      []string{"-strict", "-retry-loop-repeats", "2"},
			wantCode:   1,
			wantStdout: []string{"FAIL  SHOULD audit-retry-loop\n", "sent Crud/Read/Vendor 3 times in a row"},
		},
		{
			name:       "only",
			journal:    entryLines(jentry("Login", "session#1", ""), leak),
			flags:      []string{"-only", "audit-login-storm"},
			wantCode:   0,
			wantStdout: []string{"1 passed, 0 failed, 0 skipped"},
		},
		{name: "gap", journal: gapJournal(), wantCode: 2, wantStderr: "the journal has a gap: seq 2 to 3 missing"},
		{name: "duplicate", journal: entryLines(jentry("Login", "s", "")) + entryLines(jentry("Login", "s", "")), wantCode: 2, wantStderr: "holds seq 1 twice"},
		{name: "not JSON", journal: entryLines(jentry("Login", "s", "")) + "GET /api/v2/Login.json\n", wantCode: 2, wantStderr: "journal.jsonl:2: not a journal entry"},
		{name: "other version", journal: `{"v":2,"seq":1}` + "\n", wantCode: 2, wantStderr: "journal entry version 2"},
		{name: "empty", journal: "", wantCode: 2, wantStderr: "the journal is empty"},
		{name: "unknown id", journal: entryLines(jentry("Login", "s", "")), flags: []string{"-skip", "audit-nope"}, wantCode: 2, wantStderr: `unknown check "audit-nope"`},
		{name: "active id", journal: entryLines(jentry("Login", "s", "")), flags: []string{"-only", "reuse-session"}, wantCode: 2, wantStderr: "is an active check"},
		{name: "negative resends", journal: entryLines(jentry("Login", "s", "")), flags: []string{"-stale-resends", "-2"}, wantCode: 2, wantStderr: "-stale-resends must be -1 or more"},
		{name: "bad threshold", journal: entryLines(jentry("Login", "s", "")), flags: []string{"-retry-loop-repeats", "0"}, wantCode: 2, wantStderr: "thresholds must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.WriteFile(file, []byte(tt.journal), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runAuditArgs(t, append([]string{"-journal", file}, tt.flags...)...)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// gapJournal holds seq 1 and 4.
func gapJournal() string {
	a, b := jentry("Login", "session#1", ""), jentry("GetSessionInfo", "session#1", "")
	a.Seq, b.Seq = 1, 4
	return entryLines(a, b)
}

func TestAuditArguments(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"neither source", nil, "give exactly one of -journal FILE and -url URL"},
		{"both sources", []string{"-journal", "j", "-url", "http://127.0.0.1:1"}, "give exactly one"},
		{"stray argument", []string{"-journal", "j", "extra"}, `unexpected argument "extra"`},
		{"bad flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"missing file", []string{"-journal", filepath.Join(t.TempDir(), "none")}, "no such file"},
		{"bad url", []string{"-url", "fakebill:8080"}, "want the server root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAuditArgs(t, tt.args...)
			if code != 2 {
				t.Errorf("exit status = %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// auditPost sends one form-encoded v2 call to the fake and returns its
// response_data.
func auditPost(t *testing.T, base, path, query string, form url.Values) json.RawMessage {
	t.Helper()
	target := base + "/" + path
	if query != "" {
		target += "?" + query
	}
	resp, err := http.Post(target, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data json.RawMessage `json:"response_data"`
	}
	json.NewDecoder(resp.Body).Decode(&env)
	return env.Data
}

func TestAuditURL(t *testing.T) {
	acct := fakebill.DemoAccount
	srv, err := fakebill.NewServer(fakebill.Options{AdminToken: "t0ken-for-audit", JournalSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL + "/api/v2"

	var login struct{ SessionID string }
	json.Unmarshal(auditPost(t, base, "Login.json", "", url.Values{
		"userName": {acct.UserName}, "password": {acct.Password}, "orgId": {acct.OrgID}, "devKey": {acct.DevKey},
	}), &login)
	form := url.Values{"devKey": {acct.DevKey}, "sessionId": {login.SessionID}}
	auditPost(t, base, "GetSessionInfo.json", "", form)

	code, stdout, stderr := runAuditArgs(t, "-url", ts.URL+"/", "-admin-token", "t0ken-for-audit")
	if code != 0 {
		t.Errorf("clean traffic: exit status = %d, want 0\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runAuditArgs(t, "-url", ts.URL)
	if code != 2 || !strings.Contains(stderr, "HTTP 401: the control API wants -admin-token") {
		t.Errorf("no token: exit %d, stderr %q; want 2 and a hint", code, stderr)
	}

	auditPost(t, base, "GetSessionInfo.json", "devKey="+url.QueryEscape(acct.DevKey), form)
	code, stdout, _ = runAuditArgs(t, "-url", ts.URL, "-admin-token", "t0ken-for-audit")
	if code != 1 || !strings.Contains(stdout, "FAIL  MUST   audit-secret-in-url") {
		t.Errorf("leaking traffic: exit status = %d, want 1 with audit-secret-in-url failing\n%s", code, stdout)
	}
	if strings.Contains(stdout, acct.DevKey) || strings.Contains(stdout, login.SessionID) {
		t.Errorf("audit report shows a secret:\n%s", stdout)
	}

	// The ring holds 5 entries: the sixth request evicts one.
	for range 3 {
		auditPost(t, base, "GetSessionInfo.json", "", form)
	}
	code, _, stderr = runAuditArgs(t, "-url", ts.URL, "-admin-token", "t0ken-for-audit")
	if code != 2 || !strings.Contains(stderr, "the journal has evicted entries") {
		t.Errorf("evicted entries: exit %d, stderr %q; want 2", code, stderr)
	}
}

func TestAuditURLAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStderr string
	}{
		{"not found", 404, "", "HTTP 404: is this a fakebill server root"},
		{"not a journal", 200, `{"status":"ok"}`, "the answer is not a fakebill journal"},
		{"server error", 500, "", "HTTP 500"},
		{"gap", 200, fmt.Sprintf(`{"entries":[%s,%s],"dropped":0}`, `{"v":1,"seq":1,"done_seq":1}`, `{"v":1,"seq":3,"done_seq":2}`), "gap: seq 2 to 2 missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/_fakebill/journal" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				// A second page is empty.
				if r.URL.Query().Get("since") != "0" && tt.status == 200 {
					fmt.Fprint(w, `{"entries":[],"dropped":0}`)
					return
				}
				fmt.Fprint(w, tt.body)
			}))
			defer ts.Close()
			code, _, stderr := runAuditArgs(t, "-url", ts.URL)
			if code != 2 || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.wantStderr)
			}
		})
	}
}

func TestAuditReports(t *testing.T) {
	dir := t.TempDir()
	file, jsonFile, junitFile, base := filepath.Join(dir, "j"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml"), filepath.Join(dir, "base")
	leak := jentry("GetSessionInfo", "session#1", "")
	leak.Leaks = []fakebill.Leak{{Field: "sessionId", Where: "query"}}
	os.WriteFile(file, []byte(entryLines(jentry("Login", "session#1", ""), leak)), 0o600)
	os.WriteFile(base, []byte("audit-secret-in-url\naudit-retry-loop\n"), 0o600)

	code, stdout, stderr := runAuditArgs(t, "-journal", file, "-baseline", base, "-json", jsonFile, "-junit", junitFile)
	if code != 0 {
		t.Fatalf("exit status = %d, want 0 with the failure in the baseline\n%s%s", code, stdout, stderr)
	}
	var rep jsonReport
	b, _ := os.ReadFile(jsonFile)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if got := rep.byStatus("known"); len(got) != 1 || got[0] != "audit-secret-in-url" {
		t.Errorf("known = %q, want [audit-secret-in-url]", got)
	}
	if got := rep.Summary.Fixed; len(got) != 1 || got[0] != "audit-retry-loop" {
		t.Errorf("fixed = %q, want [audit-retry-loop]", got)
	}
	x, _ := os.ReadFile(junitFile)
	if !bytes.Contains(x, []byte(`<testsuite name="fakebill audit" tests="4" failures="0" errors="0" skipped="1">`)) {
		t.Errorf("JUnit report:\n%s", x)
	}
}

// FuzzAuditJournal feeds arbitrary journal files through the whole audit
// path: any input is judged or refused with an error, never a panic.
func FuzzAuditJournal(f *testing.F) {
	f.Add([]byte(entryLines(jentry("Login", "session#1", ""), jentry("GetSessionInfo", "session#1", fakebill.CodeSessionInvalid))))
	f.Add([]byte(gapJournal()))
	f.Add([]byte(`{"v":1,"seq":1,"done_seq":0,"op":"Login","account":"a","time":"2026-01-01T00:00:00Z"}` + "\n" +
		`{"v":1,"seq":2,"done_seq":1,"op":"Logout","session":"s","status":200}`))
	f.Add([]byte("\x00\xff{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseJournal(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if err := checkWhole(entries); err != nil {
			return
		}
		results, err := conformance.Audit(entries, nil)
		if err != nil {
			t.Fatalf("Audit refused a whole journal: %v", err)
		}
		if len(results) != 4 {
			t.Fatalf("Audit returned %d results, want 4", len(results))
		}
	})
}
