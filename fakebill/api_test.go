package fakebill

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoginErrors(t *testing.T) {
	without := func(f url.Values, keys ...string) url.Values {
		for _, k := range keys {
			f.Del(k)
		}
		return f
	}
	with := func(f url.Values, k, v string) url.Values { f.Set(k, v); return f }
	tests := []struct {
		name     string
		form     url.Values
		wantCode string
		wantMsg  string
	}{
		{"missing devKey", without(loginForm(acctA), "devKey"), CodeDevKeyMissing, "Developer key must be specified."},
		{"empty devKey", with(loginForm(acctA), "devKey", ""), CodeDevKeyMissing, ""},
		{"unknown devKey", with(loginForm(acctA), "devKey", "DEVKEY-nobody-0000"), CodeBadDevKey, "Developer key is invalid."},
		{"missing userName", without(loginForm(acctA), "userName"), CodeMissingParameter, "Missing parameter value for parameter: userName."},
		{"missing password", without(loginForm(acctA), "password"), CodeMissingParameter, "Missing parameter value for parameter: password."},
		{"missing orgId", without(loginForm(acctA), "orgId"), CodeMissingParameter, "Missing parameter value for parameter: orgId."},
		{"missing userName before bad orgId", with(without(loginForm(acctA), "userName"), "orgId", "x"), CodeMissingParameter, ""},
		{"malformed orgId", with(loginForm(acctA), "orgId", "abc"), CodeInvalidParameter, "Invalid parameter value for parameter,value: orgId, abc."},
		{"malformed orgId before wrong password", with(with(loginForm(acctA), "orgId", "007aaaaaaaaaaaaaaaa1"), "password", "nope"), CodeInvalidParameter, ""},
		{"wrong password", with(loginForm(acctA), "password", "Pw-wrong-00000000"), CodeBadCredentials, "User name and/or password do not match our records."},
		{"unknown user", with(loginForm(acctA), "userName", "mallory@example.invalid"), CodeBadCredentials, ""},
		{"wrong password before unknown org", with(with(loginForm(acctA), "password", "x"), "orgId", "008zzzzzzzzzzzzzzzz9"), CodeBadCredentials, ""},
		{"unknown org", with(loginForm(acctA), "orgId", "008zzzzzzzzzzzzzzzz9"), CodeInvalidOrg, "Invalid organization id."},
		{"org of another user", with(loginForm(acctA), "orgId", acctC.OrgID), CodeInvalidOrg, ""},
		{"devKey of another account", with(loginForm(acctA), "devKey", acctC.DevKey), CodeBadDevKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{})
			ans := post(t, s, "Login.json", tt.form)
			if ans.Status != http.StatusOK {
				t.Errorf("status = %d, want 200", ans.Status)
			}
			if got := ans.code(); got != tt.wantCode {
				t.Errorf("code = %q, want %q (body %s)", got, tt.wantCode, ans.Body)
			}
			if tt.wantMsg != "" && ans.message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", ans.message(), tt.wantMsg)
			}
			if ans.Env.Message != "Error" {
				t.Errorf("response_message = %q, want Error", ans.Env.Message)
			}
			if c := ans.sidCookie(); c != nil {
				t.Errorf("failed login set cookie %q", c.Name)
			}
			if got := s.Stats().Logins; got != 0 {
				t.Errorf("Stats().Logins = %d, want 0", got)
			}
		})
	}
}

func TestLoginAnswer(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		target       string
		tls          bool
		wantEndpoint string
	}{
		{"host header", Options{}, "http://fake.test:8080/api/v2/Login.json", false, "http://fake.test:8080/api/v2"},
		{"tls", Options{}, "https://fake.test/api/v2/Login.json", true, "https://fake.test/api/v2"},
		{"prefix", Options{Prefix: "/bill/v2/"}, "http://fake.test/bill/v2/Login.json", false, "http://fake.test/bill/v2"},
		{"public URL", Options{PublicURL: "https://api.example.invalid/api/v2/"}, "http://fake.test/api/v2/Login.json", false, "https://api.example.invalid/api/v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, tt.opts)
			r := formRequest(tt.target, loginForm(acctB))
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			ans := serve(t, s, r)
			var got loginAnswer
			if err := json.Unmarshal(ans.Env.Data, &got); err != nil || ans.Env.Status != 0 || ans.Env.Message != "Success" {
				t.Fatalf("login failed: %s", ans.Body)
			}
			if len(got.SessionID) < 22 {
				t.Errorf("sessionId %d characters long, want at least 22 (128 bits)", len(got.SessionID))
			}
			want := loginAnswer{SessionID: got.SessionID, OrgID: acctB.OrgID, APIEndPoint: tt.wantEndpoint, UsersID: acctB.UsersID}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("login answer (-want +got):\n%s", diff)
			}
			c := ans.sidCookie()
			if c == nil || c.Value != got.SessionID || !c.HttpOnly || c.Path != "/" || c.Secure != tt.tls {
				t.Errorf("Set-Cookie = %+v, want sid=<sessionId>; Path=/; HttpOnly, Secure only on TLS", c)
			}
			if got := s.Stats().Logins; got != 1 {
				t.Errorf("Stats().Logins = %d, want 1", got)
			}
		})
	}
}

func TestLoginSessionsDiffer(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	seen := map[string]bool{}
	for range 50 {
		id := login(t, s, acctA)
		if seen[id] {
			t.Fatalf("login returned session id twice")
		}
		seen[id] = true
	}
}

func TestListOrgs(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		wantCode string
		want     []orgAnswer
	}{
		{"both orgs", url.Values{"userName": {acctA.UserName}, "password": {acctA.Password}, "devKey": {acctA.DevKey}}, "",
			[]orgAnswer{{acctA.OrgID, "Alpha Org"}, {acctB.OrgID, "Beta Org"}}},
		{"default org name", url.Values{"userName": {acctC.UserName}, "password": {acctC.Password}, "devKey": {acctC.DevKey}}, "",
			[]orgAnswer{{acctC.OrgID, "Organization 3"}}},
		{"missing devKey", url.Values{"userName": {acctA.UserName}, "password": {acctA.Password}}, CodeDevKeyMissing, nil},
		{"missing password", url.Values{"userName": {acctA.UserName}, "devKey": {acctA.DevKey}}, CodeMissingParameter, nil},
		{"wrong password", url.Values{"userName": {acctA.UserName}, "password": {"nope"}, "devKey": {acctA.DevKey}}, CodeBadCredentials, nil},
		{"devKey of another user", url.Values{"userName": {acctA.UserName}, "password": {acctA.Password}, "devKey": {acctC.DevKey}}, CodeBadDevKey, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{})
			ans := post(t, s, "ListOrgs.json", tt.form)
			if got := ans.code(); got != tt.wantCode {
				t.Fatalf("code = %q, want %q (body %s)", got, tt.wantCode, ans.Body)
			}
			if tt.want == nil {
				return
			}
			var got []orgAnswer
			json.Unmarshal(ans.Env.Data, &got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("orgs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthenticatedErrors(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sidA := login(t, s, acctA)
	sidC := login(t, s, acctC)
	tests := []struct {
		name     string
		path     string
		form     url.Values
		wantCode string
	}{
		{"session info", "GetSessionInfo.json", callForm(acctA, sidA, ""), ""},
		{"generic call", "Crud/Read/Vendor.json", callForm(acctA, sidA, `{"id":"009x"}`), ""},
		{"missing devKey", "GetSessionInfo.json", url.Values{"sessionId": {sidA}}, CodeDevKeyMissing},
		{"missing devKey and session", "Crud/Read/Vendor.json", url.Values{}, CodeDevKeyMissing},
		{"unknown devKey", "GetSessionInfo.json", url.Values{"sessionId": {sidA}, "devKey": {"DEVKEY-nobody-0000"}}, CodeBadDevKey},
		{"unknown devKey before bad session", "GetSessionInfo.json", url.Values{"sessionId": {"x"}, "devKey": {"DEVKEY-nobody-0000"}}, CodeBadDevKey},
		{"missing session", "GetSessionInfo.json", url.Values{"devKey": {acctA.DevKey}}, CodeSessionInvalid},
		{"unknown session", "Crud/Read/Vendor.json", callForm(acctA, strings.Repeat("A", 43), ""), CodeSessionInvalid},
		{"devKey of another session", "GetSessionInfo.json", callForm(acctC, sidA, ""), CodeBadDevKey},
		{"session before data", "Crud/Read/Vendor.json", callForm(acctA, "bogus", "{"), CodeSessionInvalid},
		{"malformed data", "Crud/Read/Vendor.json", callForm(acctA, sidA, `{"id":`), CodeBadJSON},
		{"malformed data on session info", "GetSessionInfo.json", callForm(acctC, sidC, `nope`), CodeBadJSON},
		{"logout of other key", "Logout.json", callForm(acctC, sidA, ""), CodeBadDevKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := post(t, s, tt.path, tt.form)
			if ans.Status != http.StatusOK || !ans.IsJSON {
				t.Errorf("status = %d, JSON %v; want 200 with a JSON envelope", ans.Status, ans.IsJSON)
			}
			if got := ans.code(); got != tt.wantCode {
				t.Errorf("code = %q, want %q (body %s)", got, tt.wantCode, ans.Body)
			}
			if tt.wantCode == CodeBadJSON && ans.message() != "Error Parsing Json Object. Please check your request." {
				t.Errorf("message = %q", ans.message())
			}
			if tt.wantCode == CodeSessionInvalid && ans.message() != "Session is invalid.  Please log in." {
				t.Errorf("message = %q, want the two-space text", ans.message())
			}
		})
	}
}

func TestSessionInfo(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctC)
	ans := post(t, s, "GetSessionInfo.json", callForm(acctC, sid, ""))
	var got map[string]string
	json.Unmarshal(ans.Env.Data, &got)
	want := map[string]string{"organizationId": acctC.OrgID, "userId": "00600000000000000003"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetSessionInfo (-want +got):\n%s", diff)
	}
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	form := callForm(acctA, sid, "")
	get := func(target string, mods ...func(*http.Request)) *http.Request {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		for _, m := range mods {
			m(r)
		}
		return r
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
		wantData   string
	}{
		{"generic object", formRequest("/api/v2/Crud/Read/Vendor.json", form), 200, "", "{}"},
		{"generic list", formRequest("/api/v2/List/Vendor.json", form), 200, "", "[]"},
		{"double slash folded", formRequest("/api/v2//Crud//Read/Vendor.json", form), 200, "", "{}"},
		{"not json", formRequest("/api/v2/Crud/Read/Vendor", form), 404, CodeAPINotSupported, ""},
		{"bare prefix", formRequest("/api/v2", form), 404, CodeAPINotSupported, ""},
		{"prefix slash", formRequest("/api/v2/", form), 404, CodeAPINotSupported, ""},
		{"only .json", formRequest("/api/v2/.json", form), 404, CodeAPINotSupported, ""},
		{"outside prefix", formRequest("/api/v3/Login.json", form), 404, CodeAPINotSupported, ""},
		{"root", get("/"), 404, CodeAPINotSupported, ""},
		{"GET login", get("/api/v2/Login.json"), 405, CodeMethodNotAllowed, ""},
		{"PUT call", httptest.NewRequest(http.MethodPut, "/api/v2/Crud/Read/Vendor.json", nil), 405, CodeMethodNotAllowed, ""},
		{"GET document pages by cookie", get("/api/v2/GetDocumentPages.json", withCookie("sid", sid)), 200, "", "{}"},
		{"GET document pages without cookie", get("/api/v2/GetDocumentPages.json"), 200, CodeSessionInvalid, ""},
		{"POST document pages", formRequest("/api/v2/GetDocumentPages.json", form), 200, "", "{}"},
		{"DELETE document pages", httptest.NewRequest(http.MethodDelete, "/api/v2/GetDocumentPages.json", nil), 405, CodeMethodNotAllowed, ""},
		{"case matters", formRequest("/api/v2/login.json", loginForm(acctA)), 200, CodeSessionInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := serve(t, s, tt.req)
			if ans.Status != tt.wantStatus || ans.code() != tt.wantCode {
				t.Errorf("got %d %q, want %d %q (body %s)", ans.Status, ans.code(), tt.wantStatus, tt.wantCode, ans.Body)
			}
			if !ans.IsJSON {
				t.Errorf("answer is not a JSON envelope: %q", ans.Body)
			}
			if tt.wantData != "" && string(ans.Env.Data) != tt.wantData {
				t.Errorf("response_data = %s, want %s", ans.Env.Data, tt.wantData)
			}
			if loc := ans.Header.Get("Location"); loc != "" {
				t.Errorf("answer redirects to %q", loc)
			}
		})
	}
	if got := serve(t, s, get("/api/v2/Login.json")).Header.Get("Allow"); got != "POST" {
		t.Errorf("Allow on 405 = %q, want POST", got)
	}
}

func TestStrictEndpoints(t *testing.T) {
	s, _ := newTestServer(t, Options{StrictEndpoints: true})
	sid := login(t, s, acctA)
	if err := s.SetFixture("Crud/Read/Vendor.json", map[string]string{"id": "0091"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path       string
		wantStatus int
		wantCode   string
	}{
		{"Crud/Read/Vendor.json", 200, ""},
		{"Crud/Read/Bill.json", 404, CodeAPINotSupported},
		{"GetSessionInfo.json", 200, ""},
		{"Logout.json", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ans := post(t, s, tt.path, callForm(acctA, sid, ""))
			if ans.Status != tt.wantStatus || ans.code() != tt.wantCode {
				t.Errorf("got %d %q, want %d %q", ans.Status, ans.code(), tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestIdleExpiry(t *testing.T) {
	tests := []struct {
		name     string
		refresh  Refresh
		steps    []time.Duration // idle time before each call
		failing  []bool          // whether that call fails after the session check
		wantLast string
	}{
		{"just before", RefreshAny, []time.Duration{35*time.Minute - time.Millisecond}, []bool{false}, ""},
		{"exactly at", RefreshAny, []time.Duration{35 * time.Minute}, []bool{false}, CodeSessionInvalid},
		{"long after", RefreshAny, []time.Duration{5 * time.Hour}, []bool{false}, CodeSessionInvalid},
		{"call resets", RefreshAny, []time.Duration{34 * time.Minute, 34 * time.Minute, 34 * time.Minute}, []bool{false, false, false}, ""},
		{"failed call resets", RefreshAny, []time.Duration{34 * time.Minute, 34 * time.Minute}, []bool{true, false}, ""},
		{"success mode: success resets", RefreshSuccess, []time.Duration{34 * time.Minute, 34 * time.Minute}, []bool{false, false}, ""},
		{"success mode: failure does not", RefreshSuccess, []time.Duration{34 * time.Minute, 34 * time.Minute}, []bool{true, false}, CodeSessionInvalid},
		{"reset then exact", RefreshAny, []time.Duration{30 * time.Minute, 35 * time.Minute}, []bool{false, false}, CodeSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t, Options{Refresh: tt.refresh})
			sid := login(t, s, acctA)
			var last answer
			for i, d := range tt.steps {
				clk.Add(d)
				data := "{}"
				if tt.failing[i] {
					data = "{bad"
				}
				last = post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, data))
			}
			if got := last.code(); got != tt.wantLast {
				t.Errorf("last call code = %q, want %q", got, tt.wantLast)
			}
		})
	}
}

func TestCustomIdleTimeout(t *testing.T) {
	s, clk := newTestServer(t, Options{IdleTimeout: time.Minute})
	sid := login(t, s, acctA)
	clk.Add(59 * time.Second)
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != "" {
		t.Errorf("at 59s: code %q, want success", got)
	}
	clk.Add(time.Minute)
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("after 1m idle: code %q, want %s", got, CodeSessionInvalid)
	}
}

func TestLogout(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	other := login(t, s, acctA)
	ans := post(t, s, "Logout.json", callForm(acctA, sid, ""))
	if ans.code() != "" || ans.Env.Status != 0 {
		t.Fatalf("logout: %s", ans.Body)
	}
	if c := ans.sidCookie(); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout Set-Cookie = %+v, want sid=; Max-Age=0", c)
	}
	if !strings.Contains(ans.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("Set-Cookie %q lacks Max-Age=0", ans.Header.Get("Set-Cookie"))
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("call after logout: %q, want %s", got, CodeSessionInvalid)
	}
	if e := lastEntry(t, s); e.SessionState != SessionEnded {
		t.Errorf("journal state after logout = %q, want ended", e.SessionState)
	}
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, other, "")).code(); got != "" {
		t.Errorf("the account's other session after logout: %q, want success", got)
	}
}

func TestTransports(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	dev := url.Values{"devKey": {acctA.DevKey}}
	bogus := strings.Repeat("B", 43)
	tests := []struct {
		name      string
		form      url.Values
		mods      []func(*http.Request)
		wantCode  string
		wantVia   []string
		wantClear bool // a Set-Cookie clearing sid
	}{
		{"field", callForm(acctA, sid, ""), nil, "", []string{"field"}, false},
		{"cookie", dev, []func(*http.Request){withCookie("sid", sid)}, "", []string{"cookie"}, false},
		{"both, field wins", callForm(acctA, sid, ""), []func(*http.Request){withCookie("sid", bogus)}, "", []string{"field", "cookie"}, false},
		{"both, bad field wins", callForm(acctA, bogus, ""), []func(*http.Request){withCookie("sid", sid)}, CodeSessionInvalid, []string{"field", "cookie"}, true},
		{"bad cookie", dev, []func(*http.Request){withCookie("sid", bogus)}, CodeSessionInvalid, []string{"cookie"}, true},
		{"header is not accepted", dev, []func(*http.Request){withHeader("sessionId", sid)}, CodeSessionInvalid, []string{"header"}, false},
		{"other header spelling", dev, []func(*http.Request){withHeader("Session-Id", sid)}, CodeSessionInvalid, []string{"header"}, false},
		{"none", dev, nil, CodeSessionInvalid, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := post(t, s, "GetSessionInfo.json", tt.form, tt.mods...)
			if got := ans.code(); got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
			c := ans.sidCookie()
			if gotClear := c != nil && c.MaxAge < 0; gotClear != tt.wantClear {
				t.Errorf("cleared sid cookie = %v, want %v", gotClear, tt.wantClear)
			}
			if diff := cmp.Diff(tt.wantVia, lastEntry(t, s).SessionVia); diff != "" {
				t.Errorf("session_via (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMultipartBody(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	body := func(fields ...[2]string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, f := range fields {
			mw.WriteField(f[0], f[1])
		}
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	send := func(b *bytes.Buffer, ct, path string) answer {
		r := httptest.NewRequest(http.MethodPost, "/api/v2/"+path, b)
		r.Header.Set("Content-Type", ct)
		return serve(t, s, r)
	}
	b, ct := body([2]string{"userName", acctA.UserName}, [2]string{"password", acctA.Password},
		[2]string{"orgId", acctA.OrgID}, [2]string{"devKey", acctA.DevKey})
	ans := send(b, ct, "Login.json")
	var la loginAnswer
	if json.Unmarshal(ans.Env.Data, &la); la.SessionID == "" {
		t.Fatalf("multipart login failed: %s", ans.Body)
	}
	b, ct = body([2]string{"devKey", acctA.DevKey}, [2]string{"sessionId", la.SessionID},
		[2]string{"sessionId", "second-value-ignored"}, [2]string{"data", `{"id":"0091"}`})
	if got := send(b, ct, "Crud/Read/Vendor.json").code(); got != "" {
		t.Errorf("multipart call: code %q, want success", got)
	}
	b, ct = body([2]string{"devKey", acctA.DevKey}, [2]string{"sessionId", la.SessionID}, [2]string{"data", `{`})
	if got := send(b, ct, "Crud/Read/Vendor.json").code(); got != CodeBadJSON {
		t.Errorf("multipart call with bad data: code %q, want %s", got, CodeBadJSON)
	}
}

func TestSingleSession(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "single"}[single], func(t *testing.T) {
			s, _ := newTestServer(t, Options{SingleSession: single})
			first := login(t, s, acctA)
			otherAcct := login(t, s, acctB)
			second := login(t, s, acctA)
			want := ""
			if single {
				want = CodeSessionInvalid
			}
			if got := post(t, s, "GetSessionInfo.json", callForm(acctA, first, "")).code(); got != want {
				t.Errorf("older session after a new login: %q, want %q", got, want)
			}
			if got := post(t, s, "GetSessionInfo.json", callForm(acctA, second, "")).code(); got != "" {
				t.Errorf("newest session: %q, want success", got)
			}
			if got := post(t, s, "GetSessionInfo.json", callForm(acctB, otherAcct, "")).code(); got != "" {
				t.Errorf("another account's session: %q, want success", got)
			}
		})
	}
}

func TestSessionCap(t *testing.T) {
	s, clk := newTestServer(t, Options{MaxSessions: 2})
	login(t, s, acctA)
	login(t, s, acctC)
	ans := post(t, s, "Login.json", loginForm(acctA))
	if got := ans.code(); got != CodeSystemError {
		t.Fatalf("login past the cap: %q, want %s", got, CodeSystemError)
	}
	if e := lastEntry(t, s); !strings.Contains(e.Note, "cap") {
		t.Errorf("journal note = %q, want it to say the cap was reached", e.Note)
	}
	clk.Add(35 * time.Minute)
	login(t, s, acctA) // expired sessions free their places
}

func TestBadInput(t *testing.T) {
	s, _ := newTestServer(t, Options{MaxBody: 1024})
	sid := login(t, s, acctA)
	okForm := callForm(acctA, sid, "{}").Encode()
	req := func(method, ct, body string, mods ...func(*http.Request)) *http.Request {
		r := httptest.NewRequest(method, "/api/v2/Crud/Read/Vendor.json", strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		for _, m := range mods {
			m(r)
		}
		return r
	}
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantCode   string
	}{
		{"good", req("POST", form, okForm), 200, ""},
		{"form with charset", req("POST", form+"; charset=UTF-8", okForm), 200, ""},
		{"no content type", req("POST", "", okForm), 200, CodeDevKeyMissing},
		{"text/plain", req("POST", "text/plain", okForm), 200, CodeDevKeyMissing},
		{"JSON body", req("POST", "application/json", `{"devKey":"x"}`), 200, CodeDevKeyMissing},
		{"garbage content type", req("POST", ";;;==", okForm), 200, CodeDevKeyMissing},
		{"multipart without boundary", req("POST", "multipart/form-data", okForm), 200, CodeDevKeyMissing},
		{"broken multipart", req("POST", "multipart/form-data; boundary=xyz", "--xyz\r\nbroken"), 200, CodeDevKeyMissing},
		{"oversize", req("POST", form, okForm+"&pad="+strings.Repeat("x", 2048)), 413, CodeBodyTooLarge},
		{"duplicate fields, first wins", req("POST", form, okForm+"&sessionId=nope&devKey=nope"), 200, ""},
		{"duplicate fields, bad first", req("POST", form, "sessionId=nope&"+okForm), 200, CodeSessionInvalid},
		{"bad escapes", req("POST", form, "devKey=%zz&sessionId=%"), 200, CodeBadDevKey},
		{"semicolons", req("POST", form, "devKey="+acctA.DevKey+";sessionId="+sid), 200, CodeBadDevKey},
		{"non-UTF-8 data", req("POST", form, okForm+"&x=\xff\xfe"), 200, ""},
		{"non-UTF-8 data field", req("POST", form, callForm(acctA, sid, "").Encode()+"&data=%ff%fe"), 200, CodeBadJSON},
		{"unknown fields ignored", req("POST", form, okForm+"&client_library=JAVA8_v0.0.1"), 200, ""},
		{"huge header", req("POST", form, okForm, withHeader("X-Big", strings.Repeat("h", 1<<20))), 200, ""},
		{"empty body", req("POST", form, ""), 200, CodeDevKeyMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := serve(t, s, tt.req)
			if ans.Status != tt.wantStatus || ans.code() != tt.wantCode {
				t.Errorf("got %d %q, want %d %q (body %.200s)", ans.Status, ans.code(), tt.wantStatus, tt.wantCode, ans.Body)
			}
			if !ans.IsJSON {
				t.Errorf("answer is not a JSON envelope: %.200q", ans.Body)
			}
		})
	}
}

func TestNewServerRefusesBadOptions(t *testing.T) {
	noPass := acctA
	noPass.Password = ""
	tests := []struct {
		name string
		opts Options
	}{
		{"incomplete account", Options{Accounts: []Account{noPass}}},
		{"duplicate account", Options{Accounts: []Account{acctA, acctA}}},
		{"relative prefix", Options{Prefix: "api"}},
		{"control prefix", Options{Prefix: "/_fakebill"}},
		{"bad leak mode", Options{Leaks: "ignore"}},
		{"bad refresh", Options{Refresh: "never"}},
		{"bad public URL", Options{PublicURL: "ftp://x"}},
		{"negative timeout", Options{IdleTimeout: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.opts)
			if err == nil || s != nil {
				t.Fatalf("NewServer = %v, %v; want an error", s, err)
			}
			if !strings.HasPrefix(err.Error(), "fakebill: ") {
				t.Errorf("error %q lacks the fakebill: prefix", err)
			}
			for _, sec := range []string{acctA.Password, acctA.DevKey} {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error %q contains a secret", err)
				}
			}
		})
	}
}

func TestZeroOptions(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.ClockMode(); got != "real" {
		t.Errorf("ClockMode = %q, want real", got)
	}
	if d := time.Since(s.Now()); d < -time.Second || d > time.Second {
		t.Errorf("Now is %v from the wall clock", d)
	}
	sid := login(t, s, DemoAccount)
	if got := post(t, s, "GetSessionInfo.json", callForm(DemoAccount, sid, "")).code(); got != "" {
		t.Errorf("demo account call: %q", got)
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestUnreadableBody(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	r := httptest.NewRequest(http.MethodPost, "/api/v2/Login.json", errReader{})
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ans := serve(t, s, r)
	if ans.Status != http.StatusBadRequest || ans.code() != CodeRequestUnreadable || !ans.IsJSON {
		t.Errorf("unreadable body: %d %q %s, want 400 %s envelope", ans.Status, ans.code(), ans.Body, CodeRequestUnreadable)
	}
}

// TestConcurrentUse mixes logins, calls, control requests, faults and
// resets, for the race detector.
func TestConcurrentUse(t *testing.T) {
	s, clk := newTestServer(t, Options{JournalSize: 50})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range 30 {
				sid := login(t, s, acctA)
				post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, `{"i":1}`))
				switch (w + i) % 6 {
				case 0:
					clk.Add(time.Minute)
				case 1:
					s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: CodeConcurrencyLimit}, Times: 1})
				case 2:
					s.Journal(0)
					s.Sessions(5)
				case 3:
					serve(t, s, httptest.NewRequest(http.MethodGet, "/_fakebill/stats", nil))
				case 4:
					s.EndAccount("account#1")
				case 5:
					post(t, s, "Logout.json", callForm(acctA, sid, ""))
				}
			}
		})
	}
	wg.Wait()
	s.Reset()
	if n := s.Stats().LiveSessions; n != 0 {
		t.Errorf("live sessions after Reset = %d, want 0", n)
	}
}

// TestRefreshOnEarlyFailure checks that a call presenting a valid session
// refreshes it even when it fails before the session step, unless the
// server refreshes only on success.
func TestRefreshOnEarlyFailure(t *testing.T) {
	tests := []struct {
		refresh Refresh
		want    string
	}{
		{RefreshAny, ""},
		{RefreshSuccess, CodeSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(string(tt.refresh), func(t *testing.T) {
			s, clk := newTestServer(t, Options{Refresh: tt.refresh})
			sid := login(t, s, acctA)
			clk.Add(30 * time.Minute)
			if got := post(t, s, "Crud/Read/Vendor.json", url.Values{"sessionId": {sid}}).code(); got != CodeDevKeyMissing {
				t.Fatalf("call without devKey: %q", got)
			}
			if e := lastEntry(t, s); e.Session != "session#1" || e.SessionState != SessionLive || e.Account != "account#1" {
				t.Errorf("journal of the failed call: session %q state %q account %q", e.Session, e.SessionState, e.Account)
			}
			clk.Add(30 * time.Minute)
			if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).code(); got != tt.want {
				t.Errorf("30 minutes after the failed call: %q, want %q", got, tt.want)
			}
		})
	}
}

// countingReader records whether it was read.
type countingReader struct {
	r    io.Reader
	read bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.read = true
	return c.r.Read(p)
}

func TestDeclaredLengthOverLimit(t *testing.T) {
	const limit = 64
	tests := []struct {
		name       string
		declared   int64
		body       string
		wantStatus int
		wantCode   string
		wantRead   bool
	}{
		{"declared over the limit", 20_000_000, "devKey=x", 413, CodeBodyTooLarge, false},
		{"declared one over", limit + 1, strings.Repeat("x", limit+1), 413, CodeBodyTooLarge, false},
		{"declared at the limit", limit, "devKey=x" + strings.Repeat("&", limit-8), 200, CodeBadDevKey, true},
		{"undeclared, over the limit", -1, strings.Repeat("x", limit+1), 413, CodeBodyTooLarge, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{MaxBody: limit})
			body := &countingReader{r: strings.NewReader(tt.body)}
			r := httptest.NewRequest(http.MethodPost, "/api/v2/GetSessionInfo.json", body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Expect", "100-continue")
			r.ContentLength = tt.declared
			ans := serve(t, s, r)
			if ans.Status != tt.wantStatus || ans.code() != tt.wantCode || !ans.IsJSON {
				t.Errorf("got %d %q %s, want %d %q envelope", ans.Status, ans.code(), ans.Body, tt.wantStatus, tt.wantCode)
			}
			if body.read != tt.wantRead {
				t.Errorf("body read = %v, want %v", body.read, tt.wantRead)
			}
			if e := lastEntry(t, s); e.Status != tt.wantStatus || e.Code != tt.wantCode {
				t.Errorf("journal entry %d %q, want %d %q", e.Status, e.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

// TestExpectContinueOverLimit checks over a socket that a client which
// waits for "100 Continue" gets the 413 at once instead.
func TestExpectContinueOverLimit(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails, not stalls
	fmt.Fprintf(conn, "POST /api/v2/GetSessionInfo.json HTTP/1.1\r\nHost: fakebill.test\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	ans := answer{Status: res.StatusCode}
	json.Unmarshal(b, &ans.Env)
	if res.StatusCode != http.StatusRequestEntityTooLarge || ans.code() != CodeBodyTooLarge {
		t.Errorf("got %d %s, want 413 %s", res.StatusCode, b, CodeBodyTooLarge)
	}
}

// timeoutError is what a connection's read deadline returns.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestBodyReadFails(t *testing.T) {
	tests := []struct {
		name     string
		body     io.Reader
		wantNote string
	}{
		{"reset", errReader{}, "request body could not be read"},
		{"timeout after some bytes", io.MultiReader(strings.NewReader("de"), iotest.ErrReader(timeoutError{})),
			"reading the request body timed out"},
		{"truncated", io.MultiReader(strings.NewReader("devKey=x"), iotest.ErrReader(io.ErrUnexpectedEOF)),
			"request body ended before its Content-Length"},
		{"data and error together", iotest.DataErrReader(iotest.ErrReader(timeoutError{})),
			"reading the request body timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{})
			r := httptest.NewRequest(http.MethodPost, "/api/v2/GetSessionInfo.json", tt.body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = 100
			ans := serve(t, s, r)
			if ans.Status != http.StatusBadRequest || ans.code() != CodeRequestUnreadable || !ans.IsJSON {
				t.Errorf("got %d %q %s, want 400 %s envelope", ans.Status, ans.code(), ans.Body, CodeRequestUnreadable)
			}
			if got, want := ans.message(), Message(CodeRequestUnreadable); got != want {
				t.Errorf("message = %q, want %q", got, want)
			}
			e := lastEntry(t, s)
			if e.Status != http.StatusBadRequest || e.Code != CodeRequestUnreadable || e.Op != "GetSessionInfo" {
				t.Errorf("journal entry %d %q op %q, want 400 %s GetSessionInfo", e.Status, e.Code, e.Op, CodeRequestUnreadable)
			}
			if e.Note != tt.wantNote {
				t.Errorf("journal note = %q, want %q", e.Note, tt.wantNote)
			}
		})
	}
}

// TestTruncatedBodyOverSocket checks that a body that ends before its
// Content-Length gets the 400 envelope through net/http.
func TestTruncatedBodyOverSocket(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails, not stalls
	fmt.Fprintf(conn, "POST /api/v2/GetSessionInfo.json HTTP/1.1\r\nHost: fakebill.test\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nde")
	conn.(*net.TCPConn).CloseWrite()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	ans := answer{Status: res.StatusCode}
	json.Unmarshal(b, &ans.Env)
	if res.StatusCode != http.StatusBadRequest || ans.code() != CodeRequestUnreadable {
		t.Errorf("got %d %s, want 400 %s", res.StatusCode, b, CodeRequestUnreadable)
	}
	e := lastEntry(t, s)
	if e.Status != http.StatusBadRequest || e.Code != CodeRequestUnreadable || e.Note != "request body ended before its Content-Length" {
		t.Errorf("journal entry %d %q note %q, want 400 %s, the body ended early", e.Status, e.Code, e.Note, CodeRequestUnreadable)
	}
}
