package fakebill

import (
	"encoding/json"
	"github.com/fakebill/toolkit/internal/syncbuf"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// syncBuffer collects output written concurrently.
type syncBuffer = syncbuf.Buffer

// TestNoSecretInOutput runs a whole scenario and checks that no
// configured secret and no minted session id appears in anything the
// server wrote, except Login's own answer and Set-Cookie.
func TestNoSecretInOutput(t *testing.T) {
	for _, mode := range []LeakMode{LeakRefuse, LeakRecord} {
		t.Run(string(mode), func(t *testing.T) {
			var logs, sink syncBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s, clk := newTestServer(t, Options{Leaks: mode, Logger: logger, JournalWriter: &sink,
				Accounts: []Account{acctA, acctC}})

			var outputs []string // everything the client saw, but Login's success
			var ids []string
			record := func(r *http.Request) answer {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				a := answer{Status: w.Code, Header: w.Header(), Body: w.Body.String(), Cookies: w.Result().Cookies()}
				json.Unmarshal(w.Body.Bytes(), &a.Env)
				var la loginAnswer
				if json.Unmarshal(a.Env.Data, &la); la.SessionID != "" {
					ids = append(ids, la.SessionID)
					return a
				}
				hdr, _ := json.Marshal(w.Header())
				outputs = append(outputs, w.Body.String(), string(hdr))
				return a
			}
			postRec := func(path string, form url.Values, mods ...func(*http.Request)) answer {
				return record(formRequest("/api/v2/"+path, form, mods...))
			}
			control := func(method, path, body string) {
				r := httptest.NewRequest(method, "/_fakebill"+path, strings.NewReader(body))
				record(r)
			}
			loginRec := func(a Account) string {
				postRec("Login.json", loginForm(a))
				return ids[len(ids)-1]
			}

			// Logins and their failures, with secrets in odd fields.
			sid := loginRec(acctA)
			other := loginRec(acctC)
			bad := loginForm(acctA)
			bad.Set("password", acctC.Password)
			postRec("Login.json", bad)
			bad = loginForm(acctA)
			bad.Set("orgId", acctA.Password)
			postRec("Login.json", bad)
			bad.Set("orgId", sid)
			postRec("Login.json", bad)
			bad.Set("devKey", acctC.Password)
			postRec("Login.json", bad)
			lo := loginForm(acctA)
			lo.Del("orgId")
			postRec("ListOrgs.json", lo)

			// Calls, good and bad, with credentials where they do not belong.
			postRec("GetSessionInfo.json", callForm(acctA, sid, `{"x":1}`))
			postRec("Crud/Read/Vendor.json", callForm(acctA, sid, `{bad`))
			postRec("Crud/Read/Vendor.json", callForm(acctC, sid, ""))
			f := callForm(acctA, sid, "")
			f.Set("password", acctA.Password)
			postRec("Crud/Read/Vendor.json", f, withHeader("userName", acctA.UserName), withCookie("sid", other))
			postRec("GetSessionInfo.json", url.Values{"devKey": {acctA.DevKey}}, withHeader("sessionId", sid))
			postRec("Crud/Read/"+acctA.DevKey+".json", callForm(acctA, sid, ""))
			record(httptest.NewRequest(http.MethodGet, "/api/v2/Login.json", nil))
			record(httptest.NewRequest(http.MethodGet, "/"+acctA.Password, nil))

			// Leaks in URLs.
			postRec("GetSessionInfo.json?sessionId="+other, url.Values{"devKey": {acctC.DevKey}})
			postRec("ListOrgs.json?userName="+url.QueryEscape(acctA.UserName)+"&password="+url.QueryEscape(acctA.Password), nil)
			postRec("GetSessionInfo.json", callForm(acctA, sid, ""),
				withHeader("Referer", "http://app.example.invalid/?devKey="+acctA.DevKey))
			control("GET", "/health?sid="+sid, "")

			// Faults, expiry, logout.
			s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: CodeSessionInvalid}, Times: 1})
			postRec("GetSessionInfo.json", callForm(acctA, sid, ""), withCookie("sid", sid))
			sid = loginRec(acctA)
			clk.Add(35 * time.Minute)
			postRec("GetSessionInfo.json", callForm(acctA, sid, ""), withCookie("sid", sid))
			sid = loginRec(acctA)
			postRec("Logout.json", callForm(acctA, sid, ""))
			postRec("Logout.json", callForm(acctA, sid, ""))
			loginRec(acctC)

			// Control API reads.
			for _, p := range []string{"/journal", "/leaks", "/sessions", "/stats", "/faults", "/fixtures", "/clock", "/health"} {
				control("GET", p, "")
			}
			control("POST", "/sessions/end", `{"session":"`+sid+`"}`)
			control("POST", "/fixtures", `{"path":"`+acctA.Password+`.json"}`)

			entries, _ := s.Journal(0)
			entriesJSON, _ := json.Marshal(entries)
			leaksJSON, _ := json.Marshal(s.Leaks())
			sessionsJSON, _ := json.Marshal(s.Sessions(0))
			places := map[string]string{
				"log":            logs.String(),
				"journal file":   sink.String(),
				"journal":        string(entriesJSON),
				"leaks":          string(leaksJSON),
				"sessions":       string(sessionsJSON),
				"client-visible": strings.Join(outputs, "\n"),
			}
			if len(entries) < 25 || logs.String() == "" || len(s.Leaks()) < 4 {
				t.Fatalf("scenario too small: %d entries, %d leaks", len(entries), len(s.Leaks()))
			}

			secrets := map[string]string{}
			for _, a := range []Account{acctA, acctC} {
				secrets[a.UserName], secrets[a.Password], secrets[a.DevKey] = "userName", "password", "devKey"
			}
			for _, id := range ids {
				secrets[id] = "sessionId"
			}
			for sec, field := range secrets {
				forms := []string{sec, url.QueryEscape(sec), url.PathEscape(sec)}
				for place, text := range places {
					for _, form := range forms {
						if strings.Contains(text, form) {
							t.Errorf("%s appears in the %s", field, place)
						}
					}
				}
			}
		})
	}
}

func TestLogLinePerRequest(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	s, _ := newTestServer(t, Options{Logger: logger})
	sid := login(t, s, acctA)
	post(t, s, "GetSessionInfo.json", callForm(acctA, "nope", ""))
	serve(t, s, httptest.NewRequest(http.MethodGet, "/_fakebill/health", nil))
	_ = sid

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), logs.String())
	}
	var rec struct {
		Msg, Method, Path, Code, Session string
		Status                           int
	}
	json.Unmarshal([]byte(lines[0]), &rec)
	if rec.Method != "POST" || rec.Path != "/api/v2/Login.json" || rec.Status != 200 || rec.Session != "session#1" {
		t.Errorf("login log line = %s", lines[0])
	}
	json.Unmarshal([]byte(lines[1]), &rec)
	if rec.Code != CodeSessionInvalid {
		t.Errorf("failed call log line = %s, want code %s", lines[1], CodeSessionInvalid)
	}
}

func TestShortSecretWarning(t *testing.T) {
	var logs syncBuffer
	short := Account{UserName: "u@x.io", Password: "pw", OrgID: "00800000000000000009", DevKey: "dk"}
	_, err := NewServer(Options{Accounts: []Account{short}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 3 {
		t.Errorf("warnings:\n%s\nwant one per short secret (3)", out)
	}
	for _, sec := range []string{"u@x.io", "=pw", "=dk"} {
		if strings.Contains(out, sec) {
			t.Errorf("warning holds the secret %q", sec)
		}
	}
}
