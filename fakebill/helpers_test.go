package fakebill

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Credentials of the test accounts: long enough for the leak detector to
// find by value.
var (
	acctA = Account{
		UserName: "alice.payables@example.invalid",
		Password: "Pw-alpha-7f3k2m9q",
		OrgID:    "008aaaaaaaaaaaaaaaa1",
		DevKey:   "DEVKEY-alpha-00001",
		UsersID:  "006aaaaaaaaaaaaaaaa1",
		OrgName:  "Alpha Org",
	}
	acctB = Account{ // the same user in a second organization
		UserName: "alice.payables@example.invalid",
		Password: "Pw-alpha-7f3k2m9q",
		OrgID:    "008bbbbbbbbbbbbbbbb2",
		DevKey:   "DEVKEY-alpha-00001",
		UsersID:  "006bbbbbbbbbbbbbbbb2",
		OrgName:  "Beta Org",
	}
	acctC = Account{ // another user with another devKey
		UserName: "carol.ap@example.invalid",
		Password: "Pw-carol-8x1z4n6w",
		OrgID:    "008cccccccccccccccc3",
		DevKey:   "DEVKEY-carol-00003",
	}
)

// newTestServer returns a server on a ManualClock at DefaultStartTime
// serving acctA, acctB and acctC, unless opts says otherwise.
func newTestServer(t testing.TB, opts Options) (*Server, *ManualClock) {
	t.Helper()
	clk, _ := opts.Clock.(*ManualClock)
	if opts.Clock == nil {
		clk = NewManualClock(DefaultStartTime)
		opts.Clock = clk
	}
	if opts.Accounts == nil {
		opts.Accounts = []Account{acctA, acctB, acctC}
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return s, clk
}

// answer is a decoded response.
type answer struct {
	Status  int
	Header  http.Header
	Body    string
	Env     wireEnvelope
	IsJSON  bool
	Cookies []*http.Cookie
}

type wireEnvelope struct {
	Status  int             `json:"response_status"`
	Message string          `json:"response_message"`
	Data    json.RawMessage `json:"response_data"`
}

// code returns the error code of a v2 error envelope, "" otherwise.
func (a answer) code() string {
	var d struct {
		Code string `json:"error_code"`
	}
	if a.Env.Status != 1 {
		return ""
	}
	json.Unmarshal(a.Env.Data, &d)
	return d.Code
}

func (a answer) message() string {
	var d struct {
		Msg string `json:"error_message"`
	}
	json.Unmarshal(a.Env.Data, &d)
	return d.Msg
}

// cookie returns the Set-Cookie named sid, or nil.
func (a answer) sidCookie() *http.Cookie {
	for _, c := range a.Cookies {
		if c.Name == "sid" {
			return c
		}
	}
	return nil
}

// serve runs r through s and decodes the answer.
func serve(t testing.TB, s http.Handler, r *http.Request) answer {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	res := w.Result()
	body, _ := io.ReadAll(res.Body)
	a := answer{Status: res.StatusCode, Header: res.Header, Body: string(body), Cookies: res.Cookies()}
	a.IsJSON = json.Unmarshal(body, &a.Env) == nil && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json")
	return a
}

// formRequest builds a URL-encoded POST; mods adjust it.
func formRequest(target string, form url.Values, mods ...func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mods {
		m(r)
	}
	return r
}

// post sends form to the v2 operation path ("Login.json").
func post(t testing.TB, s http.Handler, path string, form url.Values, mods ...func(*http.Request)) answer {
	t.Helper()
	return serve(t, s, formRequest("/api/v2/"+path, form, mods...))
}

func loginForm(a Account) url.Values {
	return url.Values{"userName": {a.UserName}, "password": {a.Password}, "orgId": {a.OrgID}, "devKey": {a.DevKey}}
}

// login logs a in and returns the session id.
func login(t testing.TB, s http.Handler, a Account) string {
	t.Helper()
	ans := post(t, s, "Login.json", loginForm(a))
	var d struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(ans.Env.Data, &d); err != nil || ans.Env.Status != 0 || d.SessionID == "" {
		t.Fatalf("login: status %d, body %s", ans.Status, ans.Body)
	}
	return d.SessionID
}

// callForm is the form of an authenticated call.
func callForm(a Account, sid string, data string) url.Values {
	f := url.Values{"devKey": {a.DevKey}, "sessionId": {sid}}
	if data != "" {
		f.Set("data", data)
	}
	return f
}

func withCookie(name, value string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func withHeader(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

// lastEntry returns the newest journal entry.
func lastEntry(t testing.TB, s *Server) Entry {
	t.Helper()
	es, _ := s.Journal(0)
	if len(es) == 0 {
		t.Fatal("journal is empty")
	}
	return es[len(es)-1]
}
