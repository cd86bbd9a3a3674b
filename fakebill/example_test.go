package fakebill_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// post sends a form to the server in process and returns the body.
func post(h http.Handler, path string, form url.Values) string {
	r := httptest.NewRequest(http.MethodPost, "/api/v2/"+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return string(b)
}

func ExampleNewServer() {
	clk := fakebill.NewManualClock(fakebill.DefaultStartTime)
	s, err := fakebill.NewServer(fakebill.Options{Clock: clk})
	if err != nil {
		panic(err)
	}
	demo := fakebill.DemoAccount
	post(s, "Login.json", url.Values{
		"userName": {demo.UserName}, "password": {demo.Password},
		"orgId": {demo.OrgID}, "devKey": {demo.DevKey},
	})
	sessions := s.Sessions(0)
	fmt.Println(sessions[0].Session, sessions[0].Account, sessions[0].IdleLeftMS)

	// 35 idle minutes later the session is gone.
	clk.Add(35 * time.Minute)
	fmt.Println(len(s.Sessions(0)))
	// Output:
	// session#1 account#1 2100000
	// 0
}

func ExampleServer_AddFault() {
	s, _ := fakebill.NewServer(fakebill.Options{Clock: fakebill.NewManualClock(fakebill.DefaultStartTime)})
	s.AddFault(fakebill.Fault{
		Match: fakebill.FaultMatch{Op: "Login"},
		Reply: &fakebill.FaultReply{Code: fakebill.CodeConcurrencyLimit},
		Times: 1,
	})
	fmt.Println(post(s, "Login.json", nil))
	// Output:
	// {"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1322","error_message":"Max number of concurrent requests per organization reached."}}
}

func ExampleServer_Journal() {
	s, _ := fakebill.NewServer(fakebill.Options{Clock: fakebill.NewManualClock(fakebill.DefaultStartTime)})
	post(s, "GetSessionInfo.json", url.Values{"devKey": {fakebill.DemoAccount.DevKey}, "sessionId": {"stale"}})
	entries, _ := s.Journal(0)
	e := entries[0]
	fmt.Println(e.Seq, e.Op, e.SessionState, e.Code)
	// Output:
	// 1 GetSessionInfo unknown BDC_1109
}
