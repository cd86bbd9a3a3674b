package goclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/examples/goclient"
	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/sessiontest"
)

// subject is how the conformance catalog builds this client.
var subject = conformance.Subject{
	Name:       "goclient",
	API:        "v2",
	Concurrent: true,
	New: func(env conformance.Env) (conformance.Client, error) {
		return goclient.New(goclient.Config{
			BaseURL:    env.BaseURL,
			UserName:   env.UserName,
			Password:   env.Password,
			OrgID:      env.OrgID,
			DevKey:     env.DevKey,
			HTTPClient: env.HTTPClient,
			Log:        env.Log,
		})
	},
}

// The reference client passes every check, MUST and SHOULD.
func TestConformance(t *testing.T) {
	conformance.Run(t, subject, nil)
}

func TestConformanceSynctest(t *testing.T) {
	conformance.Run(t, subject, &conformance.Options{Synctest: true})
}

func config(s *sessiontest.Server) goclient.Config {
	return goclient.Config{
		BaseURL: s.BaseURL, UserName: s.Account.UserName, Password: s.Account.Password,
		OrgID: s.Account.OrgID, DevKey: s.Account.DevKey, HTTPClient: s.Client(),
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	ok := goclient.Config{BaseURL: "http://127.0.0.1:1/api/v2", UserName: "u", Password: "p", OrgID: "o", DevKey: "d"}
	tests := []struct {
		name   string
		change func(c *goclient.Config)
		want   string
	}{
		{"no base URL", func(c *goclient.Config) { c.BaseURL = "" }, "BaseURL"},
		{"relative base URL", func(c *goclient.Config) { c.BaseURL = "/api/v2" }, "BaseURL"},
		{"other scheme", func(c *goclient.Config) { c.BaseURL = "ftp://127.0.0.1/api/v2" }, "BaseURL"},
		{"query in base URL", func(c *goclient.Config) { c.BaseURL += "?devKey=x" }, "no query"},
		{"no user name", func(c *goclient.Config) { c.UserName = "" }, "UserName"},
		{"no password", func(c *goclient.Config) { c.Password = "" }, "Password"},
		{"no org", func(c *goclient.Config) { c.OrgID = "" }, "OrgID"},
		{"no dev key", func(c *goclient.Config) { c.DevKey = "" }, "DevKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			_, err := goclient.New(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := goclient.New(ok); err != nil {
		t.Errorf("New(complete config) = %v, want nil", err)
	}
}

func TestErrorsCarryCodeAndKind(t *testing.T) {
	tests := []struct {
		name     string
		fault    fakebill.Fault
		wantCode string
		wantKind string
	}{
		{"refused login", fakebill.Fault{Match: fakebill.FaultMatch{Op: "Login"}, Reply: &fakebill.FaultReply{Code: "BDC_1101"}}, "BDC_1101", goclient.KindAuth},
		{"bad dev key", fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: "BDC_1102"}}, "BDC_1102", goclient.KindAuth},
		{"concurrency limit", fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: "BDC_1322"}}, "BDC_1322", goclient.KindRateLimit},
		{"system error", fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: "BDC_1001"}}, "BDC_1001", goclient.KindAPI},
		{"session refused twice", fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: "BDC_1109"}}, "BDC_1109", goclient.KindSession},
		{"proxy error", fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Status: 502}}, "", goclient.KindTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sessiontest.New(t, nil)
			c, err := goclient.New(config(s))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := s.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			_, err = c.Call(context.Background(), "Crud/Read/Vendor.json", map[string]any{"id": "0091"})
			var apiErr *goclient.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Call error = %v (%T), want an *APIError", err, err)
			}
			if apiErr.Code() != tt.wantCode || apiErr.Kind() != tt.wantKind {
				t.Errorf("Code() = %q, Kind() = %q; want %q, %q", apiErr.Code(), apiErr.Kind(), tt.wantCode, tt.wantKind)
			}
		})
	}
}

func TestReloginAfterExpiry(t *testing.T) {
	s := sessiontest.New(t, nil)
	c, err := goclient.New(config(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Call(ctx, "GetSessionInfo.json", nil); err != nil {
		t.Fatal(err)
	}
	s.Advance(35 * time.Minute)
	got, err := c.Call(ctx, "GetSessionInfo.json", nil)
	if err != nil {
		t.Fatalf("Call after 35 idle minutes = %v, want success after a new login", err)
	}
	if !strings.Contains(string(got), s.Account.OrgID) {
		t.Errorf("GetSessionInfo = %s, want the account's organization", got)
	}
	if n := s.Logins(); n != 2 {
		t.Errorf("logins = %d, want 2", n)
	}
}

func TestCallAfterClose(t *testing.T) {
	s := sessiontest.New(t, nil)
	c, err := goclient.New(config(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(context.Background(), "GetSessionInfo.json", nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := c.Close(); err != nil {
			t.Errorf("Close #%d = %v, want nil", i+1, err)
		}
	}
	if _, err := c.Call(context.Background(), "GetSessionInfo.json", nil); !errors.Is(err, goclient.ErrClosed) {
		t.Errorf("Call after Close = %v, want ErrClosed", err)
	}
	if got := s.Fake().Sessions(0); len(got) != 0 {
		t.Errorf("live sessions after Close = %d, want 0 (Close logs out)", len(got))
	}
}

func TestBadPathIsAnError(t *testing.T) {
	s := sessiontest.New(t, nil)
	c, err := goclient.New(config(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, path := range []string{"", "/", "GetSessionInfo.json?sessionId=x", "Crud/Read/Vendor.json#x", "http://127.0.0.1:1/x.json"} {
		if _, err := c.Call(context.Background(), path, nil); err == nil || !strings.Contains(err.Error(), "not an operation path") {
			t.Errorf("Call(%q) = %v, want an error about the path", path, err)
		}
	}
	if n := s.Calls(); n != 0 {
		t.Errorf("requests sent = %d, want 0", n)
	}
}

func TestBadDataIsAnError(t *testing.T) {
	s := sessiontest.New(t, nil)
	c, err := goclient.New(config(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Call(context.Background(), "Crud/Create/Vendor.json", map[string]any{"bad": make(chan int)})
	if err == nil || !strings.Contains(err.Error(), "encoding data") {
		t.Errorf("Call with unencodable data = %v, want an encoding error", err)
	}
	if n := s.Calls(); n != 0 {
		t.Errorf("requests sent = %d, want 0", n)
	}
}

// A redirect is never followed, not even with a caller's client that
// would follow it: it would carry the login form to another host.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	c, err := goclient.New(goclient.Config{
		BaseURL: redirector.URL + "/api/v2", UserName: "u@example.com", Password: "pw-0123456789",
		OrgID: "00800000000000000001", DevKey: "dk-0123456789", HTTPClient: &http.Client{},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Call(context.Background(), "GetSessionInfo.json", nil)
	var apiErr *goclient.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusTemporaryRedirect {
		t.Errorf("Call error = %v, want an *APIError with HTTP 307", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

func TestKindOf(t *testing.T) {
	for code, want := range map[string]string{
		"BDC_1101": goclient.KindAuth, "BDC_1109": goclient.KindSession, "BDC_1322": goclient.KindRateLimit,
		"BDC_1001": goclient.KindAPI, "FAKEBILL_SECRET_IN_URL": goclient.KindOther,
	} {
		if got := goclient.KindOf(code); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", code, got, want)
		}
	}
}
