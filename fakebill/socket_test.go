package fakebill

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestOverSocket drives the server through net/http with a cookie jar,
// as BILL's own sample clients do: the session travels only as sid.
func TestOverSocket(t *testing.T) {
	clk := NewManualClock(DefaultStartTime)
	s, _ := newTestServer(t, Options{Clock: clk})
	ts := httptest.NewServer(s)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	postForm := func(path string, form url.Values) (int, wireEnvelope) {
		t.Helper()
		res, err := c.PostForm(ts.URL+"/api/v2/"+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env wireEnvelope
		if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
			t.Fatalf("%s: answer is not JSON: %v", path, err)
		}
		return res.StatusCode, env
	}
	code := func(env wireEnvelope) string { return answer{Env: env}.code() }

	_, env := postForm("Login.json", loginForm(acctA))
	var la loginAnswer
	json.Unmarshal(env.Data, &la)
	if la.APIEndPoint != ts.URL+"/api/v2" {
		t.Errorf("apiEndPoint = %q, want %q", la.APIEndPoint, ts.URL+"/api/v2")
	}
	dev := url.Values{"devKey": {acctA.DevKey}}
	if _, env := postForm("GetSessionInfo.json", dev); code(env) != "" {
		t.Errorf("call with the jar's cookie: %s", code(env))
	}
	res, err := c.Get(ts.URL + "/api/v2/GetDocumentPages.json")
	if err != nil || res.StatusCode != 200 {
		t.Errorf("GET GetDocumentPages with the cookie: %v %v", res.StatusCode, err)
	}
	res.Body.Close()

	clk.Add(35 * time.Minute)
	if _, env := postForm("GetSessionInfo.json", dev); code(env) != CodeSessionInvalid {
		t.Errorf("after 35 idle minutes: %q, want %s", code(env), CodeSessionInvalid)
	}
	u, _ := url.Parse(ts.URL)
	if got := jar.Cookies(u); len(got) != 0 {
		t.Errorf("jar still holds %v after BDC_1109 cleared the cookie", got)
	}

	status, env := postForm("Crud/Read/Vendor.json?sessionId="+la.SessionID, dev)
	if status != 400 || code(env) != CodeSecretInURL {
		t.Errorf("leak over the socket: %d %q", status, code(env))
	}
	res, err = c.Get(ts.URL + "/_fakebill/health")
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("health over the socket: %v %v", res, err)
	}
	res.Body.Close()
}
