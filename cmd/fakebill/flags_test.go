package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/google/go-cmp/cmp"
)

var demo = fakebill.DemoAccount

// fileAccount is the first account of testdata/accounts.json.
var fileAccount = fakebill.Account{
	UserName: "ap-clerk@example.invalid",
	Password: "clerk-password-0001",
	OrgID:    "00810000000000000001",
	DevKey:   "clerk-dev-key-0001",
}

// oneAccount is the account the single-account flags set.
var oneAccount = fakebill.Account{
	UserName: "single-user@example.invalid",
	Password: "Single-Password-9f3k2",
	OrgID:    "00830000000000000003",
	DevKey:   "single-dev-key-7c1q",
}

// flagCase starts a server with args and checks that the flags in them
// took effect.
type flagCase struct {
	name  string
	args  []string
	env   map[string]string
	check func(t *testing.T, s *served)
}

// flagCases covers every serve flag; TestEveryFlagHasEffect makes sure.
// Each check fails if its flag were parsed and then ignored.
func flagCases(t *testing.T) []flagCase {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir)
	return []flagCase{
		{
			name: "addr", args: nil,
			check: func(t *testing.T, s *served) {
				u, _ := url.Parse(s.base)
				if u.Hostname() != "127.0.0.1" || u.Port() == "0" || u.Port() == "" {
					t.Errorf("listening on %q, want 127.0.0.1 and a picked port", u.Host)
				}
			},
		},
		{
			name: "ready-file", args: []string{"-ready-file", filepath.Join(dir, "ready")},
			check: func(t *testing.T, s *served) {
				name := filepath.Join(dir, "ready")
				got, err := os.ReadFile(name)
				if err != nil || string(got) != s.base+"\n" {
					t.Errorf("ready file = %q, %v; want %q", got, err, s.base+"\n")
				}
				s.stop(t)
				if _, err := os.Stat(name); !os.IsNotExist(err) {
					t.Errorf("ready file after shutdown: stat error %v, want not exist", err)
				}
			},
		},
		{
			name: "demo account by default", args: nil,
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				want := "fakebill: serving " + s.base + "\n" +
					"fakebill: demo account userName=demo@example.com password=demo-password orgId=00800000000000000001 devKey=demo-dev-key\n"
				if diff := cmp.Diff(want, s.stdout.String()); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "accounts", args: []string{"-accounts", "testdata/accounts.json"},
			check: func(t *testing.T, s *served) {
				s.login(t, fileAccount)
				// The devKey is checked first, so the demo's draws BDC_1102.
				if r := s.call(t, s.base, "Login.json", loginForm(demo)); r.code() != "BDC_1102" {
					t.Errorf("demo Login = %q, want BDC_1102", r.code())
				}
				if got, want := s.stdout.String(), "fakebill: serving "+s.base+"\n"; got != want {
					t.Errorf("stdout = %q, want only %q", got, want)
				}
			},
		},
		{
			name: "single account",
			args: []string{"-user-name", oneAccount.UserName, "-password", oneAccount.Password,
				"-org-id", oneAccount.OrgID, "-dev-key", oneAccount.DevKey},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, oneAccount)
				s.call(t, s.base, "GetSessionInfo.json", sessionForm(oneAccount, sid))
				s.call(t, s.base, "Login.json", url.Values{"userName": {oneAccount.UserName}, "password": {"wrong-" + oneAccount.Password},
					"orgId": {oneAccount.OrgID}, "devKey": {oneAccount.DevKey}})
				// The devKey is checked first, so the demo's draws BDC_1102.
				if r := s.call(t, s.base, "Login.json", loginForm(demo)); r.code() != "BDC_1102" {
					t.Errorf("demo Login = %q, want BDC_1102", r.code())
				}
				s.stop(t)
				out := s.stdout.String() + s.stderr.String()
				for name, secret := range map[string]string{"userName": oneAccount.UserName, "password": oneAccount.Password,
					"devKey": oneAccount.DevKey, "sessionId": sid} {
					if strings.Contains(out, secret) {
						t.Errorf("output holds the %s:\n%s", name, out)
					}
				}
			},
		},
		{
			name: "idle-timeout", args: []string{"-idle-timeout", "10m", "-clock", "manual"},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				s.advance(t, "9m59s")
				if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, sid)); r.Status != 0 {
					t.Fatalf("after 9m59s idle: %s %s, want success", r.Message, r.Data)
				}
				s.advance(t, "10m")
				if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, sid)); r.code() != "BDC_1109" {
					t.Errorf("after 10m idle: code %q, want BDC_1109", r.code())
				}
			},
		},
		{
			name: "clock manual and start-time", args: []string{"-clock", "manual", "-start-time", "2027-03-04T05:06:07Z"},
			check: func(t *testing.T, s *served) {
				c := s.clock(t)
				if c.Mode != "manual" || !c.Now.Equal(time.Date(2027, 3, 4, 5, 6, 7, 0, time.UTC)) {
					t.Errorf("clock = %+v, want manual at 2027-03-04T05:06:07Z", c)
				}
			},
		},
		{
			name: "clock real", args: []string{"-clock", "real"},
			check: func(t *testing.T, s *served) {
				c := s.clock(t)
				if c.Mode != "real" || time.Since(c.Now).Abs() > time.Minute {
					t.Errorf("clock = %+v, want real near the wall clock", c)
				}
			},
		},
		{
			name: "tls", args: []string{"-tls"},
			check: func(t *testing.T, s *served) {
				if !strings.HasPrefix(s.base, "https://") {
					t.Fatalf("base URL %q, want https", s.base)
				}
				certPEM := s.fetchCert(t)
				cert := parseCert(t, certPEM)
				if err := cert.VerifyHostname("127.0.0.1"); err != nil {
					t.Errorf("certificate: %v", err)
				}
				for _, h := range []string{"localhost", "::1"} {
					if err := cert.VerifyHostname(h); err != nil {
						t.Errorf("certificate: %v", err)
					}
				}
				s.trust(t, certPEM)
				s.login(t, demo)
			},
		},
		{
			name: "tls-cert and tls-key", args: []string{"-tls-cert", certFile, "-tls-key", keyFile},
			check: func(t *testing.T, s *served) {
				want, _ := os.ReadFile(certFile)
				if got := s.fetchCert(t); !bytes.Equal(got, want) {
					t.Errorf("/_fakebill/cert = %q, want the -tls-cert file", got)
				}
				s.trust(t, want)
				s.login(t, demo)
			},
		},
		{
			name: "tls-write-cert", args: []string{"-tls", "-tls-write-cert", filepath.Join(dir, "cert.pem")},
			check: func(t *testing.T, s *served) {
				got, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
				if err != nil {
					t.Fatal(err)
				}
				if want := s.fetchCert(t); !bytes.Equal(got, want) {
					t.Errorf("written certificate = %q, want the served %q", got, want)
				}
				s.trust(t, got)
				s.login(t, demo)
			},
		},
		{
			name: "journal", args: []string{"-journal", filepath.Join(dir, "journal.jsonl")},
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				s.stop(t)
				entries := readJournal(t, filepath.Join(dir, "journal.jsonl"))
				if len(entries) != 1 || entries[0].Op != "Login" || entries[0].Status != 200 {
					t.Errorf("journal file = %+v, want one Login entry", entries)
				}
			},
		},
		{
			name: "journal-size", args: []string{"-journal-size", "2"},
			check: func(t *testing.T, s *served) {
				for range 3 {
					s.login(t, demo)
				}
				code, body := s.control(t, "GET", "/journal", "", "")
				var j struct {
					Entries []fakebill.Entry `json:"entries"`
					Dropped int64            `json:"dropped"`
				}
				if err := json.Unmarshal([]byte(body), &j); code != 200 || err != nil {
					t.Fatalf("GET /journal = %d %s", code, body)
				}
				if len(j.Entries) != 2 || j.Dropped != 1 {
					t.Errorf("journal holds %d entries, %d dropped; want 2 and 1", len(j.Entries), j.Dropped)
				}
			},
		},
		{
			name: "fixtures", args: []string{"-fixtures", "testdata/fixtures"},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				form := sessionForm(demo, sid)
				form.Set("data", `{"id":"00901000000000000001"}`)
				r := s.call(t, s.base, "Crud/Read/Vendor.json", form)
				want := `{"entity":"Vendor","id":"00901000000000000001","name":"Acme Paper"}`
				if got := compactJSON(t, r.Data); got != want {
					t.Errorf("Crud/Read/Vendor response_data = %s, want %s", got, want)
				}
			},
		},
		{
			name: "prefix", args: []string{"-prefix", "/bill/v2"},
			check: func(t *testing.T, s *served) {
				if !strings.HasSuffix(s.base, "/bill/v2") {
					t.Errorf("base URL %q, want it to end in /bill/v2", s.base)
				}
				s.login(t, demo)
				if r := s.call(t, s.root+"/api/v2", "Login.json", loginForm(demo)); r.HTTPStatus != 404 || r.code() != "BDC_1121" {
					t.Errorf("Login under /api/v2 = %d %q, want 404 BDC_1121", r.HTTPStatus, r.code())
				}
			},
		},
		{
			name: "public-url", args: []string{"-public-url", "http://fakebill:8080/api/v2"},
			check: func(t *testing.T, s *served) {
				r := s.call(t, s.base, "Login.json", loginForm(demo))
				var d struct {
					APIEndPoint string `json:"apiEndPoint"`
				}
				json.Unmarshal(r.Data, &d)
				if d.APIEndPoint != "http://fakebill:8080/api/v2" {
					t.Errorf("apiEndPoint = %q, want http://fakebill:8080/api/v2", d.APIEndPoint)
				}
			},
		},
		{
			name: "leaks refuse by default", args: nil,
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				r := s.call(t, s.base, "GetSessionInfo.json?sessionId="+url.QueryEscape(sid), url.Values{"devKey": {demo.DevKey}})
				if r.HTTPStatus != 400 || r.code() != "FAKEBILL_SECRET_IN_URL" {
					t.Errorf("?sessionId= = %d %q, want 400 FAKEBILL_SECRET_IN_URL", r.HTTPStatus, r.code())
				}
			},
		},
		{
			name: "leaks record", args: []string{"-leaks", "record"},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				r := s.call(t, s.base, "GetSessionInfo.json?sessionId="+url.QueryEscape(sid), sessionForm(demo, sid))
				if r.HTTPStatus != 200 || r.Status != 0 {
					t.Errorf("?sessionId= = %d %s %s, want a success", r.HTTPStatus, r.Message, r.Data)
				}
				if code, body := s.control(t, "GET", "/leaks", "", ""); code != 200 || !strings.Contains(body, `"sessionId"`) {
					t.Errorf("GET /leaks = %d %s, want the recorded leak", code, body)
				}
			},
		},
		{
			name: "strict-endpoints", args: []string{"-strict-endpoints"},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				r := s.call(t, s.base, "Crud/Read/Vendor.json", sessionForm(demo, sid))
				if r.HTTPStatus != 404 || r.code() != "BDC_1121" {
					t.Errorf("unknown operation = %d %q, want 404 BDC_1121", r.HTTPStatus, r.code())
				}
			},
		},
		{
			name: "single-session", args: []string{"-single-session"},
			check: func(t *testing.T, s *served) {
				first := s.login(t, demo)
				s.login(t, demo)
				if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, first)); r.code() != "BDC_1109" {
					t.Errorf("older session after a new login: code %q, want BDC_1109", r.code())
				}
			},
		},
		{
			name: "refresh success", args: []string{"-refresh", "success", "-clock", "manual"},
			check: func(t *testing.T, s *served) {
				sid := s.login(t, demo)
				s.advance(t, "30m")
				bad := sessionForm(demo, sid)
				bad.Set("data", "{not json")
				if r := s.call(t, s.base, "Crud/Read/Vendor.json", bad); r.code() != "BDC_1122" {
					t.Fatalf("malformed data = %q, want BDC_1122", r.code())
				}
				s.advance(t, "6m") // 36m after login, 6m after the failed call
				if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, sid)); r.code() != "BDC_1109" {
					t.Errorf("a failed call refreshed the session: code %q, want BDC_1109", r.code())
				}
			},
		},
		{
			name: "max-sessions", args: []string{"-max-sessions", "1"},
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				if r := s.call(t, s.base, "Login.json", loginForm(demo)); r.code() != "BDC_1001" {
					t.Errorf("login past the cap: code %q, want BDC_1001", r.code())
				}
			},
		},
		{
			name: "max-body", args: []string{"-max-body", "256"},
			check: func(t *testing.T, s *served) {
				form := loginForm(demo)
				form.Set("data", strings.Repeat("x", 300))
				if r := s.call(t, s.base, "Login.json", form); r.HTTPStatus != 413 || r.code() != "FAKEBILL_BODY_TOO_LARGE" {
					t.Errorf("300-byte body = %d %q, want 413 FAKEBILL_BODY_TOO_LARGE", r.HTTPStatus, r.code())
				}
				s.login(t, demo) // a small body still passes
			},
		},
		{
			name: "admin off", args: []string{"-admin=false"},
			check: func(t *testing.T, s *served) {
				if code, body := s.control(t, "GET", "/clock", "", ""); code == 200 {
					t.Errorf("GET /clock = %d %s, want it refused", code, body)
				}
				if code, _ := s.control(t, "GET", "/health", "", ""); code != 200 {
					t.Errorf("GET /health = %d, want 200 even with -admin=false", code)
				}
			},
		},
		{
			name: "admin-token", args: []string{"-admin-token", "t0ken-abc"},
			check: func(t *testing.T, s *served) {
				if code, _ := s.control(t, "GET", "/clock", "", ""); code != 401 {
					t.Errorf("GET /clock without the token = %d, want 401", code)
				}
				if code, body := s.control(t, "GET", "/clock", "", "t0ken-abc"); code != 200 {
					t.Errorf("GET /clock with the token = %d %s, want 200", code, body)
				}
				if code, _ := s.control(t, "GET", "/health", "", ""); code != 200 {
					t.Errorf("GET /health = %d, want 200 without a token", code)
				}
			},
		},
		{
			name: "log-format json", args: []string{"-log-format", "json"},
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				s.stop(t)
				lines := nonEmptyLines(s.stderr.String())
				if len(lines) == 0 {
					t.Fatal("no log lines")
				}
				for _, l := range lines {
					var m map[string]any
					if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil {
						t.Errorf("log line %q is not slog JSON", l)
					}
				}
			},
		},
		{
			name: "log-level", args: []string{"-log-level", "warn"},
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				s.stop(t)
				if got := s.stderr.String(); got != "" {
					t.Errorf("stderr at level warn = %q, want nothing for a clean run", got)
				}
			},
		},
		{
			name: "log-level info logs requests", args: nil,
			check: func(t *testing.T, s *served) {
				s.login(t, demo)
				if got := s.stderr.String(); !strings.Contains(got, "Login") {
					t.Errorf("stderr = %q, want a line for the Login request", got)
				}
			},
		},
	}
}

func TestEveryFlagHasEffect(t *testing.T) {
	for _, tc := range flagCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			s := startServe(t, tc.args, tc.env)
			tc.check(t, s)
			if code := s.stop(t); code != 0 {
				t.Errorf("serve exit status %d, want 0; stderr:\n%s", code, s.stderr)
			}
		})
	}
}

// TestFlagCasesCoverEveryFlag fails when a serve flag is added without a
// case showing its effect.
func TestFlagCasesCoverEveryFlag(t *testing.T) {
	covered := map[string]bool{"addr": true} // startServe always passes -addr
	for _, tc := range flagCases(t) {
		for _, a := range tc.args {
			if name, ok := strings.CutPrefix(a, "-"); ok {
				name, _, _ = strings.Cut(name, "=")
				covered[name] = true
			}
		}
	}
	var c serveConfig
	serveFlags(&c, io.Discard).VisitAll(func(f *flag.Flag) {
		if !covered[f.Name] {
			t.Errorf("no case shows the effect of -%s", f.Name)
		}
	})
}

func TestServeFromEnvironment(t *testing.T) {
	// The same flags as above, given in the environment, take effect too.
	s := startServe(t, nil, map[string]string{
		"FAKEBILL_CLOCK":        "manual",
		"FAKEBILL_IDLE_TIMEOUT": "5m",
		"FAKEBILL_PREFIX":       "/v2",
	})
	if !strings.HasSuffix(s.base, "/v2") {
		t.Errorf("base URL %q, want FAKEBILL_PREFIX=/v2 to apply", s.base)
	}
	sid := s.login(t, demo)
	s.advance(t, "5m")
	if r := s.call(t, s.base, "GetSessionInfo.json", sessionForm(demo, sid)); r.code() != "BDC_1109" {
		t.Errorf("after 5m idle with FAKEBILL_IDLE_TIMEOUT=5m: code %q, want BDC_1109", r.code())
	}
}

func TestHugeHeaderReachesHandler(t *testing.T) {
	s := startServe(t, nil, nil)
	req, _ := http.NewRequest("POST", s.base+"/Login.json", strings.NewReader(loginForm(demo).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Padding", strings.Repeat("p", 512<<10)) // net/http's own default cap is 1 MiB
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Errorf("a 512 KiB header got %d and no v2 envelope: %v", resp.StatusCode, err)
	}
}

// clockState is GET /_fakebill/clock.
type clockState struct {
	Now  time.Time `json:"now"`
	Mode string    `json:"mode"`
}

func (s *served) clock(t *testing.T) clockState {
	t.Helper()
	code, body := s.control(t, "GET", "/clock", "", "")
	var c clockState
	if err := json.Unmarshal([]byte(body), &c); code != 200 || err != nil {
		t.Fatalf("GET /clock = %d %s", code, body)
	}
	return c
}

// fetchCert GETs /_fakebill/cert without verifying the server: the test
// then trusts what it got, as a user would.
func (s *served) fetchCert(t *testing.T) []byte {
	t.Helper()
	tr := s.client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(s.root + "/_fakebill/cert")
	if err != nil {
		t.Fatalf("GET /_fakebill/cert: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /_fakebill/cert = %d %s", resp.StatusCode, body)
	}
	return body
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("no PEM in %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// writeTestCert writes a certificate and key for 127.0.0.1 into dir.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	cert, certPEM, err := selfSignedCert([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "given-cert.pem"), filepath.Join(dir, "given-key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

func readJournal(t *testing.T, name string) []fakebill.Entry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []fakebill.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e fakebill.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		entries = append(entries, e)
	}
	return entries
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return buf.String()
}

func nonEmptyLines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
