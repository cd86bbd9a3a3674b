package fakebill

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestJournalEntries(t *testing.T) {
	var sink bytes.Buffer
	s, clk := newTestServer(t, Options{JournalWriter: &sink})
	sid := login(t, s, acctA)
	ended := login(t, s, acctA)
	post(t, s, "Logout.json", callForm(acctA, ended, ""))
	post(t, s, "Crud/Create/Bill.json", callForm(acctA, sid, `{"obj":{}}`),
		withHeader("userName", acctA.UserName), withCookie("password", "x"))
	post(t, s, "GetSessionInfo.json", callForm(acctA, "not-a-session", ""))
	post(t, s, "GetSessionInfo.json", url.Values{"devKey": {acctA.DevKey}})
	post(t, s, "GetSessionInfo.json", callForm(acctA, ended, ""))
	clk.Add(35 * time.Minute)
	f := callForm(acctA, sid, "")
	f.Set("password", acctA.Password)
	post(t, s, "GetSessionInfo.json", f, withCookie("sid", sid))

	sum := sha256.Sum256([]byte(`{"obj":{}}`))
	t0 := DefaultStartTime
	want := []Entry{
		{Method: "POST", Path: "/api/v2/Login.json", API: "v2", Op: "Login", Account: "account#1", Session: "session#1", SessionState: "live", Status: 200},
		{Method: "POST", Path: "/api/v2/Login.json", API: "v2", Op: "Login", Account: "account#1", Session: "session#2", SessionState: "live", Status: 200},
		{Method: "POST", Path: "/api/v2/Logout.json", API: "v2", Op: "Logout", Account: "account#1", Session: "session#2", SessionVia: []string{"field"}, SessionState: "live", Status: 200},
		{Method: "POST", Path: "/api/v2/Crud/Create/Bill.json", API: "v2", Op: "Crud/Create/Bill", Account: "account#1", Session: "session#1",
			SessionVia: []string{"field"}, SessionState: "live", CredFields: []string{"userName", "password"}, DataSHA256: hex.EncodeToString(sum[:]), Status: 200},
		{Method: "POST", Path: "/api/v2/GetSessionInfo.json", API: "v2", Op: "GetSessionInfo", SessionVia: []string{"field"}, SessionState: "unknown", Status: 200, Code: CodeSessionInvalid},
		{Method: "POST", Path: "/api/v2/GetSessionInfo.json", API: "v2", Op: "GetSessionInfo", SessionState: "absent", Status: 200, Code: CodeSessionInvalid},
		{Method: "POST", Path: "/api/v2/GetSessionInfo.json", API: "v2", Op: "GetSessionInfo", Account: "account#1", Session: "session#2", SessionVia: []string{"field"}, SessionState: "ended", Status: 200, Code: CodeSessionInvalid},
		{Method: "POST", Path: "/api/v2/GetSessionInfo.json", API: "v2", Op: "GetSessionInfo", Account: "account#1", Session: "session#1",
			SessionVia: []string{"field", "cookie"}, SessionState: "expired", CredFields: []string{"password"}, Status: 200, Code: CodeSessionInvalid},
	}
	for i := range want {
		want[i].V, want[i].Seq, want[i].DoneSeq, want[i].Time = 1, int64(i+1), int64(i+1), t0
	}
	want[len(want)-1].Time = t0.Add(35 * time.Minute)

	got, dropped := s.Journal(0)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("journal (-want +got):\n%s", diff)
	}
	if dropped != 0 {
		t.Errorf("dropped = %d, want 0", dropped)
	}

	// The file sink holds the same entries, one JSON object a line.
	var fromFile []Entry
	sc := bufio.NewScanner(&sink)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("sink line %q: %v", sc.Text(), err)
		}
		fromFile = append(fromFile, e)
	}
	if diff := cmp.Diff(want, fromFile, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("file sink (-want +got):\n%s", diff)
	}

	if got, _ := s.Journal(6); len(got) != 2 || got[0].Seq != 7 {
		t.Errorf("Journal(6) returned %d entries starting at %v, want 2 from seq 7", len(got), got)
	}
}

func TestJournalWireFormat(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	login(t, s, acctA)
	b, err := json.Marshal(lastEntry(t, s))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"v":1`, `"seq":1`, `"time":"2026-01-01T00:00:00Z"`, `"session_state":"live"`, `"done_seq":1`, `"api":"v2"`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("entry JSON %s lacks %s", b, key)
		}
	}
}

func TestJournalRing(t *testing.T) {
	var sink bytes.Buffer
	s, _ := newTestServer(t, Options{JournalSize: 3, JournalWriter: &sink})
	for range 5 {
		post(t, s, "GetSessionInfo.json", url.Values{})
	}
	got, dropped := s.Journal(0)
	if dropped != 2 {
		t.Errorf("dropped = %d, want 2", dropped)
	}
	var seqs []int64
	for _, e := range got {
		seqs = append(seqs, e.Seq)
	}
	if diff := cmp.Diff([]int64{3, 4, 5}, seqs); diff != "" {
		t.Errorf("ring seqs (-want +got):\n%s", diff)
	}
	if lines := strings.Count(sink.String(), "\n"); lines != 5 {
		t.Errorf("file sink has %d lines, want all 5", lines)
	}

	s.ClearJournal()
	if got, dropped := s.Journal(0); len(got) != 0 || dropped != 2 {
		t.Errorf("after ClearJournal: %d entries, dropped %d; want 0 and still 2", len(got), dropped)
	}
	post(t, s, "GetSessionInfo.json", url.Values{})
	if e := lastEntry(t, s); e.Seq != 6 || e.DoneSeq != 6 {
		t.Errorf("seq after clear = %d/%d, want 6/6", e.Seq, e.DoneSeq)
	}
	if st := s.Stats(); st.JournalLen != 1 || st.Dropped != 2 {
		t.Errorf("Stats journal_len %d dropped %d, want 1 and 2", st.JournalLen, st.Dropped)
	}
}

func TestJournalConcurrentSeq(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() { post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")) })
	}
	wg.Wait()
	got, _ := s.Journal(0)
	if len(got) != 41 {
		t.Fatalf("%d entries, want 41", len(got))
	}
	// Seq numbers arrivals 1 to 41; DoneSeq is on the same scale: no
	// smaller than the entry's own Seq, no larger than the last arrival.
	for i, e := range got {
		if e.Seq != int64(i+1) || e.DoneSeq < e.Seq || e.DoneSeq > 41 {
			t.Errorf("entry %d: seq %d done_seq %d, want seq %d and %d <= done_seq <= 41", i, e.Seq, e.DoneSeq, i+1, e.Seq)
		}
	}
}

// TestJournalDoneSeqOrdersRequests checks what audit relies on: a request
// whose seq is above another's done_seq arrived after that one completed.
func TestJournalDoneSeqOrdersRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		sid := login(t, s, acctA)
		s.AddFault(Fault{Match: FaultMatch{Op: "Crud/Read/Vendor"}, RealDelay: time.Second, Times: 1})
		var wg sync.WaitGroup
		wg.Go(func() { post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")) }) // seq 2, held
		synctest.Wait()
		post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")) // seq 3, done while 2 is held
		wg.Wait()
		post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")) // seq 4, after both
		got, _ := s.Journal(1)
		var pairs [][2]int64
		for _, e := range got {
			pairs = append(pairs, [2]int64{e.Seq, e.DoneSeq})
		}
		if diff := cmp.Diff([][2]int64{{2, 3}, {3, 3}, {4, 4}}, pairs); diff != "" {
			t.Errorf("(seq, done_seq) (-want +got):\n%s", diff)
		}
	})
}

func TestWaitJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		post(t, s, "GetSessionInfo.json", url.Values{})

		// An entry already there is returned at once.
		if got, _ := s.WaitJournal(t.Context(), 0); len(got) != 1 {
			t.Errorf("WaitJournal(0) = %d entries, want 1", len(got))
		}

		// A waiter wakes on the next entry.
		var got []Entry
		done := make(chan struct{})
		go func() {
			got, _ = s.WaitJournal(t.Context(), 1)
			close(done)
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("WaitJournal returned before any new entry")
		default:
		}
		post(t, s, "Login.json", loginForm(acctA))
		<-done
		if len(got) != 1 || got[0].Seq != 2 {
			t.Errorf("woken waiter got %v, want the entry with seq 2", got)
		}

		// A cancelled context ends the wait with nothing.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if got, _ := s.WaitJournal(ctx, 99); got != nil {
			t.Errorf("WaitJournal after timeout = %v, want nil", got)
		}
	})
}

func TestControlRequestsNotJournaled(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, p := range []string{"/_fakebill/health", "/_fakebill/clock", "/_fakebill/nothing"} {
		serve(t, s, formRequest(p, nil, func(r *http.Request) { r.Method = http.MethodGet }))
	}
	if got, _ := s.Journal(0); len(got) != 0 {
		t.Errorf("control requests journaled: %v", got)
	}
}

// failingWriter fails every write after the first.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n++
	if w.n > 1 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestJournalSinkFailure(t *testing.T) {
	var logs syncBuffer
	w := &failingWriter{}
	s, _ := newTestServer(t, Options{JournalWriter: w, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 4 {
		post(t, s, "GetSessionInfo.json", nil)
	}
	if got := strings.Count(logs.String(), "journal file sink failed"); got != 1 {
		t.Errorf("sink failure logged %d times, want once:\n%s", got, logs.String())
	}
	if w.n != 2 {
		t.Errorf("sink written %d times, want 2 (none after the failure)", w.n)
	}
	if got, _ := s.Journal(0); len(got) != 4 {
		t.Errorf("in-memory journal has %d entries, want 4", len(got))
	}
}

// TestCredFieldsByValue checks that cred_fields names a credential a
// non-Login call carries by value under any name: a form field, a
// header, Authorization: Basic, a cookie, a multipart field. The value
// is the account's (the session's, else the devKey's, else any), and
// only one of leak.MinLen characters or more counts.
func TestCredFieldsByValue(t *testing.T) {
	short := Account{UserName: "bob", Password: "short", OrgID: "008dddddddddddddddd4", DevKey: "DEVKEY-short-00004"}
	inKey := Account{UserName: "dave.ap@example.invalid", Password: "KEY-delta-0005", OrgID: "008eeeeeeeeeeeeeeee5",
		DevKey: "DEVKEY-delta-0005"} // its password is part of its devKey
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	with := func(f url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	tests := []struct {
		name      string
		accts     []Account // nil: acctA, acctB, acctC; the first logs in
		op        string    // "": Crud/Read/Vendor.json
		noSession bool
		form      func(sid string) url.Values
		multipart bool
		mods      []func(*http.Request)
		want      []string
		wantCode  string // of a call with a session
	}{
		{name: "password under another form key",
			form: func(sid string) url.Values { return with(callForm(acctA, sid, ""), "pass", acctA.Password) },
			want: []string{"password"}},
		{name: "user and pass form keys",
			form: func(sid string) url.Values {
				return with(callForm(acctA, sid, ""), "user", acctA.UserName, "pass", acctA.Password)
			},
			want: []string{"userName", "password"}},
		{name: "userName under another key",
			form: func(sid string) url.Values { return with(callForm(acctA, sid, ""), "login", acctA.UserName) },
			want: []string{"userName"}},
		{name: "password inside data",
			form: func(sid string) url.Values { return callForm(acctA, sid, `{"note":"`+acctA.Password+`"}`) },
			want: []string{"password"}},
		{name: "login e-mail inside data is a record's business",
			form: func(sid string) url.Values {
				return callForm(acctA, sid, `{"obj":{"entity":"Vendor","email":"`+acctA.UserName+`"}}`)
			},
			want: nil},
		{name: "password in a custom header",
			mods: []func(*http.Request){withHeader("X-Api-Secret", acctA.Password)},
			want: []string{"password"}},
		{name: "Authorization Basic user:pass",
			mods: []func(*http.Request){basic(acctA.UserName, acctA.Password)},
			want: []string{"userName", "password"}},
		{name: "Authorization Basic password only",
			mods: []func(*http.Request){basic("", acctA.Password)},
			want: []string{"password"}},
		{name: "password in a cookie",
			mods: []func(*http.Request){withCookie("token", acctA.Password)},
			want: []string{"password"}},
		{name: "password percent-encoded in a cookie",
			mods: []func(*http.Request){withCookie("token", strings.ReplaceAll(acctA.Password, "-", "%2D"))},
			want: []string{"password"}},
		{name: "password in a multipart field", multipart: true,
			form: func(sid string) url.Values { return with(callForm(acctA, sid, ""), "secret", acctA.Password) },
			want: []string{"password"}},
		{name: "password among many headers",
			mods: []func(*http.Request){withHeader("X-A", "aaaaaaaaaa"), withHeader("X-B", "bbbbbbbbbb"),
				withHeader("X-C", "cccccccccc"), withHeader("X-D", "dddddddddd"), withHeader("X-E", "eeeeeeeeee"),
				withHeader("X-F", "ffffffffff"), withHeader("X-G", "gggggggggg"), withHeader("X-Z", acctA.Password)},
			want: []string{"password"}},
		{name: "no session: the devKey's account", noSession: true,
			form: func(string) url.Values { return with(callForm(acctC, "", ""), "pass", acctC.Password) },
			want: []string{"password"}},
		{name: "no session, unknown devKey: any account", noSession: true,
			form: func(string) url.Values {
				return url.Values{"devKey": {"no-such-key"}, "pass": {acctC.Password}}
			},
			want: []string{"password"}},
		{name: "another account's password",
			form: func(sid string) url.Values { return with(callForm(acctA, sid, ""), "pass", acctC.Password) }},
		{name: "another account's password, no devKey: the session's account",
			form: func(sid string) url.Values {
				return url.Values{"sessionId": {sid}, "pass": {acctC.Password}}
			},
			wantCode: CodeDevKeyMissing},

		// No false positives.
		{name: "ordinary call",
			form: func(sid string) url.Values { return callForm(acctA, sid, `{"id":"00901ABCDEFGHIJKLMNO"}`) }},
		{name: "ordinary multipart call", multipart: true,
			form: func(sid string) url.Values { return callForm(acctA, sid, `{"id":"00901ABCDEFGHIJKLMNO"}`) }},
		{name: "part of the password",
			form: func(sid string) url.Values {
				return with(callForm(acctA, sid, ""), "pass", acctA.Password[:len(acctA.Password)-1])
			},
			mods: []func(*http.Request){basic("alice", "Pw-alpha")}},
		{name: "short credentials do not count", accts: []Account{short},
			form: func(sid string) url.Values {
				return with(callForm(short, sid, `{"name":"bob's short list"}`), "pass", short.Password)
			},
			mods: []func(*http.Request){withHeader("X-Note", "a short note from bob"), basic(short.UserName, short.Password)}},
		{name: "password inside the account's own devKey", accts: []Account{inKey},
			form: func(sid string) url.Values { return callForm(inKey, sid, "") }},
		{name: "Login carries credentials by design", op: "Login.json", noSession: true,
			form: func(string) url.Values { return with(loginForm(acctA), "pass", acctA.Password) },
			mods: []func(*http.Request){basic(acctA.UserName, acctA.Password), withCookie("token", acctA.Password)}},
		{name: "ListOrgs carries credentials by design", op: "ListOrgs.json", noSession: true,
			form: func(string) url.Values { return with(loginForm(acctA), "pass", acctA.Password) },
			mods: []func(*http.Request){basic(acctA.UserName, acctA.Password), withCookie("token", acctA.Password)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{Accounts: tt.accts})
			sid := ""
			if !tt.noSession {
				sid = login(t, s, s.Accounts()[0])
			}
			op := tt.op
			if op == "" {
				op = "Crud/Read/Vendor.json"
			}
			form := callForm(acctA, sid, "")
			if tt.form != nil {
				form = tt.form(sid)
			}
			r := formRequest("/api/v2/"+op, form, tt.mods...)
			if tt.multipart {
				var b bytes.Buffer
				mw := multipart.NewWriter(&b)
				for k, vs := range form {
					mw.WriteField(k, vs[0])
				}
				mw.Close()
				r = httptest.NewRequest(http.MethodPost, "/api/v2/"+op, &b)
				r.Header.Set("Content-Type", mw.FormDataContentType())
				for _, m := range tt.mods {
					m(r)
				}
			}
			ans := serve(t, s, r)
			e := lastEntry(t, s)
			if diff := cmp.Diff(tt.want, e.CredFields, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("cred_fields (-want +got):\n%s\nanswer: %s", diff, ans.Body)
			}
			if got := ans.code(); tt.op == "" && !tt.noSession && got != tt.wantCode {
				t.Errorf("call: code %q, want %q: %s", got, tt.wantCode, ans.Body)
			}
			if tt.op != "" && ans.code() != "" {
				t.Errorf("%s failed: %s", tt.op, ans.Body)
			}
		})
	}
}
