package examples_test

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"github.com/fakebill/toolkit/internal/syncbuf"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/fakebill"
)

// exampleAdapter is one of the example adapters under adapters/.
type exampleAdapter struct {
	name       string
	tools      []string // programs it needs on PATH
	concurrent bool     // what its hello must announce
	command    func(t testing.TB) []string
}

var goodAdapters = []exampleAdapter{
	{name: "python", tools: []string{"python3"}, concurrent: true,
		command: script("python3", "adapters/python/adapter.py")},
	{name: "node", tools: []string{"node"}, concurrent: true,
		command: script("node", "adapters/node/adapter.mjs")},
	{name: "shell", tools: []string{"bash", "curl"}, concurrent: false,
		command: script("bash", "adapters/shell/adapter.sh")},
	{name: "go", concurrent: true, command: func(t testing.TB) []string {
		return []string{buildTool(t, "goadapter", "./adapters/go")}
	}},
}

var brokenAdapter = exampleAdapter{name: "broken-python", tools: []string{"python3"},
	command: script("python3", "adapters/broken-python/adapter.py")}

// script returns the command running file (relative to examples/) with
// interpreter, as an absolute path so the command works from any directory.
func script(interpreter, file string) func(t testing.TB) []string {
	return func(t testing.TB) []string {
		abs, err := filepath.Abs(file)
		if err != nil {
			t.Fatal(err)
		}
		return []string{interpreter, abs}
	}
}

// requireTools skips the test when a tool is missing, except under CI=true
// where a missing python3 or node fails it: CI installs them, so their
// absence there means the adapters went untested.
func requireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" && (tool == "python3" || tool == "node") {
				t.Fatalf("%s is not on PATH; CI must install it to test the example adapters", tool)
				return
			}
			t.Skipf("%s is not on PATH; skipping the adapter that needs it", tool)
			return
		}
	}
}

// toolsTB records how requireTools ended a test.
type toolsTB struct {
	testing.TB
	got string
}

func (tb *toolsTB) Helper() {}

func (tb *toolsTB) Fatalf(format string, args ...any) {
	tb.got = "fatal: " + fmt.Sprintf(format, args...)
}

func (tb *toolsTB) Skipf(format string, args ...any) {
	tb.got = "skip: " + fmt.Sprintf(format, args...)
}

func TestRequireTools(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "present"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	tests := []struct {
		ci    string
		tools []string
		want  string
	}{
		{"", []string{"present"}, ""},
		{"", []string{"present", "python3"}, "skip: python3 is not on PATH; skipping the adapter that needs it"},
		{"true", []string{"node"}, "fatal: node is not on PATH; CI must install it to test the example adapters"},
		{"true", []string{"python3"}, "fatal: python3 is not on PATH; CI must install it to test the example adapters"},
		{"true", []string{"curl"}, "skip: curl is not on PATH; skipping the adapter that needs it"},
		{"false", []string{"node"}, "skip: node is not on PATH; skipping the adapter that needs it"},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		tb := &toolsTB{TB: t}
		requireTools(tb, tt.tools...)
		if tb.got != tt.want {
			t.Errorf("CI=%q requireTools(%q): %q, want %q", tt.ci, tt.tools, tb.got, tt.want)
		}
	}
}

// builds holds the Go programs built once per test binary.
var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string
	errs map[string]error
}

// buildTool builds the Go package pkg (relative to examples/) once, static,
// and returns the binary's path.
func buildTool(t testing.TB, name, pkg string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[name]; ok {
		return bin
	}
	if err, ok := builds.errs[name]; ok {
		t.Fatal(err)
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "fakebill-examples-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins, builds.errs = dir, map[string]string{}, map[string]error{}
	}
	bin := filepath.Join(builds.dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		builds.errs[name] = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		t.Fatal(builds.errs[name])
	}
	builds.bins[name] = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// randomString returns n characters drawn from alphabet.
func randomString(alphabet string, n int) string {
	var b strings.Builder
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newAccount returns fresh credentials in realistic shapes. The password
// holds characters that form encoding must escape, so an adapter that
// builds bodies by hand is tested on them.
func newAccount() fakebill.Account {
	return fakebill.Account{
		UserName: "u-" + randomString("abcdefghijklmnopqrstuvwxyz0123456789", 12) + "@example.com",
		Password: randomString(alnum, 12) + ` &=+%"\é` + randomString(alnum, 4),
		OrgID:    "008" + randomString(alnum, 17),
		DevKey:   randomString(alnum, 24),
	}
}

// fake is an in-process fake server on loopback.
type fake struct {
	*fakebill.Server
	acct    fakebill.Account
	baseURL string
}

func startFake(t testing.TB, leaks fakebill.LeakMode) *fake {
	t.Helper()
	acct := newAccount()
	s, err := fakebill.NewServer(fakebill.Options{
		Accounts: []fakebill.Account{acct},
		Clock:    fakebill.NewManualClock(fakebill.DefaultStartTime),
		Leaks:    leaks,
	})
	if err != nil {
		t.Fatalf("fakebill.NewServer: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &fake{Server: s, acct: acct, baseURL: ts.URL + "/api/v2"}
}

// step is one journaled request, reduced to what these tests judge.
type step struct {
	Op, Code string
}

func (f *fake) steps() []step {
	entries, _ := f.Journal(0)
	var got []step
	for _, e := range entries {
		got = append(got, step{e.Op, e.Code})
	}
	return got
}

func (f *fake) logins() int {
	n := 0
	for _, s := range f.steps() {
		if s.Op == "Login" {
			n++
		}
	}
	return n
}

// proc is a running adapter.
type proc struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	answers chan answer
	stderr  *syncBuffer
	nextID  int
	exited  chan error
	errMsgs []string // every error message answered, for the secrets scan
}

// answer is one protocol line from an adapter.
type answer struct {
	ID         int             `json:"id"`
	OK         bool            `json:"ok"`
	Protocol   int             `json:"protocol"`
	API        string          `json:"api"`
	Concurrent *bool           `json:"concurrent"`
	Close      *bool           `json:"close"`
	Result     json.RawMessage `json:"result"`
	Error      *struct {
		Code    string `json:"code"`
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
	raw string
}

// syncBuffer collects output written concurrently.
type syncBuffer = syncbuf.Buffer

// adapterEnv is the environment the conformance runner gives an adapter.
func adapterEnv(baseURL string, acct fakebill.Account) []string {
	env := []string{
		"FAKEBILL_URL=" + baseURL,
		"FAKEBILL_USER_NAME=" + acct.UserName,
		"FAKEBILL_PASSWORD=" + acct.Password,
		"FAKEBILL_ORG_ID=" + acct.OrgID,
		"FAKEBILL_DEV_KEY=" + acct.DevKey,
		"NO_PROXY=127.0.0.1,localhost,::1",
		"no_proxy=127.0.0.1,localhost,::1",
	}
	for _, k := range []string{"PATH", "HOME", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startAdapter runs argv with env and sends hello.
func startAdapter(t testing.TB, argv, env []string) (*proc, answer) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, stdin: stdin, answers: make(chan answer, 16),
		stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", argv, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var a answer
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				a = answer{ID: -1}
			}
			a.raw = sc.Text()
			p.answers <- a
		}
		close(p.answers)
		p.exited <- cmd.Wait()
	}()
	return p, p.roundTrip(map[string]any{"op": "hello", "protocol": 1})
}

func (p *proc) send(req map[string]any) int {
	p.t.Helper()
	id := p.nextID
	p.nextID++
	req["id"] = id
	b, _ := json.Marshal(req)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("writing request %d: %v (stderr: %s)", id, err, p.stderr)
	}
	return id
}

// answerTimeout guards against a hung adapter; no test waits it out.
const answerTimeout = 20 * time.Second

// exitTimeout bounds the wait for an adapter to exit after close.
const exitTimeout = 10 * time.Second

func (p *proc) receive() answer {
	p.t.Helper()
	select {
	case a, ok := <-p.answers:
		if !ok {
			p.t.Fatalf("adapter exited early (stderr: %s)", p.stderr)
		}
		if a.ID < 0 {
			p.t.Fatalf("adapter wrote a non-JSON line: %q", a.raw)
		}
		if a.Error != nil {
			p.errMsgs = append(p.errMsgs, a.Error.Message)
		}
		return a
	case <-time.After(answerTimeout):
		p.t.Fatalf("no answer within %v (stderr: %s)", answerTimeout, p.stderr)
	}
	panic("unreachable")
}

func (p *proc) roundTrip(req map[string]any) answer {
	p.t.Helper()
	id := p.send(req)
	a := p.receive()
	if a.ID != id {
		p.t.Fatalf("answer id = %d, want %d: %s", a.ID, id, a.raw)
	}
	return a
}

func (p *proc) call(path string, data any) answer {
	p.t.Helper()
	return p.roundTrip(map[string]any{"op": "call", "path": path, "data": data})
}

// closeAndWait sends close (or, with eof, closes stdin) and waits for the
// adapter to exit cleanly. The protocol allows 5 seconds, which the
// conformance runner enforces; here the bound is doubled so that a loaded
// machine does not fail the test.
func (p *proc) closeAndWait(eof bool) {
	p.t.Helper()
	if eof {
		p.stdin.Close()
	} else if a := p.roundTrip(map[string]any{"op": "close"}); !a.OK {
		p.t.Errorf("close answer = %s, want ok", a.raw)
	}
	select {
	case a, ok := <-p.answers:
		if ok {
			p.t.Errorf("line after close: %s", a.raw)
		}
	case <-time.After(exitTimeout):
		p.t.Fatalf("adapter still running %v after close", exitTimeout)
	}
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		if err != nil {
			p.t.Errorf("adapter exit: %v (stderr: %s)", err, p.stderr)
		}
	case <-time.After(exitTimeout):
		p.t.Fatalf("adapter still running %v after close", exitTimeout)
	}
}

// secretForms returns each credential of acct with its URL-encoded forms
// and 5-character prefix, keyed by a name that is not itself secret.
func secretForms(acct fakebill.Account) map[string]string {
	forms := map[string]string{}
	add := func(name, v string) {
		forms[name] = v
		forms[name+" (query-escaped)"] = url.QueryEscape(v)
		forms[name+" (path-escaped)"] = url.PathEscape(v)
		forms[name+" (5-char prefix)"] = v[:5]
	}
	add("userName", acct.UserName)
	add("password", acct.Password)
	add("devKey", acct.DevKey)
	return forms
}

// checkNoSecrets fails t if stderr or an error message holds a secret.
func (p *proc) checkNoSecrets(acct fakebill.Account) {
	p.t.Helper()
	texts := map[string]string{"stderr": p.stderr.String(),
		"error messages": strings.Join(p.errMsgs, "\n")}
	for where, text := range texts {
		for name, v := range secretForms(acct) {
			if strings.Contains(text, v) {
				p.t.Errorf("%s holds the %s", where, name)
			}
		}
	}
}

// session runs one adapter against a fresh fake for a scenario.
type session struct {
	t testing.TB
	f *fake
	p *proc
}

func startSession(t testing.TB, a exampleAdapter, leaks fakebill.LeakMode) *session {
	t.Helper()
	requireTools(t, a.tools...)
	f := startFake(t, leaks)
	p, hello := startAdapter(t, a.command(t), adapterEnv(f.baseURL, f.acct))
	if !hello.OK {
		t.Fatalf("hello answer = %s, want ok", hello.raw)
	}
	return &session{t: t, f: f, p: p}
}

// wantOK fails unless a is a success.
func wantOK(t *testing.T, a answer) {
	t.Helper()
	if !a.OK {
		t.Fatalf("answer = %s, want ok", a.raw)
	}
}

// wantError fails unless a is an error with that code and kind.
func wantError(t *testing.T, a answer, code, kind string) {
	t.Helper()
	if a.OK || a.Error == nil {
		t.Fatalf("answer = %s, want error %s (%s)", a.raw, code, kind)
	}
	if a.Error.Code != code || a.Error.Kind != kind {
		t.Errorf("error code, kind = %q, %q; want %q, %q (%s)", a.Error.Code, a.Error.Kind, code, kind, a.raw)
	}
}

func wantSteps(t *testing.T, f *fake, want []step) {
	t.Helper()
	if diff := cmp.Diff(want, f.steps()); diff != "" {
		t.Errorf("requests the fake saw (-want +got):\n%s", diff)
	}
}

// Journal steps the scenarios expect.
var (
	login     = step{"Login", ""}
	logout    = step{"Logout", ""}
	info      = step{"GetSessionInfo", ""}
	infoDead  = step{"GetSessionInfo", fakebill.CodeSessionInvalid}
	infoFault = func(code string) step { return step{"GetSessionInfo", code} }
)

// TestAdapterProtocol drives each example adapter through the protocol by
// hand against an in-process fake, checking both the protocol answers and
// the requests its client sent.
func TestAdapterProtocol(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, a exampleAdapter)
	}{
		{"hello announces v2 and capabilities", testHello},
		{"one login for many calls", testReuse},
		{"re-login and replay after idle expiry", testIdleExpiry},
		{"replayed create keeps its data", testReplayData},
		{"other errors surface without re-login", testOtherErrors},
		{"re-login is bounded and the dead session dropped", testBounded},
		{"failed login is an auth error", testLoginFailure},
		{"no answer is a transport error", testTransport},
		{"a redirect is not followed", testRedirect},
		{"end of input logs out", testEOF},
		{"unknown op is refused", testUnknownOp},
		{"concurrent expiry needs one login", testConcurrentExpiry},
		{"many overlapping calls share one re-login", testManyOverlapping},
	}
	for _, a := range goodAdapters {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, a) })
			}
		})
	}
}

func testHello(t *testing.T, a exampleAdapter) {
	requireTools(t, a.tools...)
	f := startFake(t, fakebill.LeakRefuse)
	p, hello := startAdapter(t, a.command(t), adapterEnv(f.baseURL, f.acct))
	got := fmt.Sprintf("ok=%v protocol=%d api=%s concurrent=%v close=%v",
		hello.OK, hello.Protocol, hello.API, deref(hello.Concurrent), deref(hello.Close))
	want := fmt.Sprintf("ok=true protocol=1 api=v2 concurrent=%v close=true", a.concurrent)
	if got != want {
		t.Errorf("hello = %s, want %s", got, want)
	}
	p.closeAndWait(false)
	// Nothing was called, so nothing was sent: no login just to log out.
	wantSteps(t, f, nil)
}

func deref(b *bool) any {
	if b == nil {
		return "absent"
	}
	return *b
}

func testReuse(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	for range 3 {
		got := s.p.call("GetSessionInfo.json", map[string]any{})
		wantOK(t, got)
		var res struct {
			OrganizationID string `json:"organizationId"`
		}
		if err := json.Unmarshal(got.Result, &res); err != nil || res.OrganizationID != s.f.acct.OrgID {
			t.Fatalf("result = %s, want organizationId of the account", got.Result)
		}
	}
	s.p.closeAndWait(false)
	wantSteps(t, s.f, []step{login, info, info, info, logout})
	s.p.checkNoSecrets(s.f.acct)
	if leaks := s.f.Leaks(); len(leaks) > 0 {
		t.Errorf("fake recorded %d leaks, want none: %+v", len(leaks), leaks)
	}
}

func testIdleExpiry(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	if err := s.f.Advance(fakebill.DefaultIdleTimeout); err != nil {
		t.Fatal(err)
	}
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.p.closeAndWait(false)
	wantSteps(t, s.f, []step{login, info, infoDead, login, info, logout})
	s.p.checkNoSecrets(s.f.acct)
}

func testReplayData(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	s.f.HandleFunc("Crud/Create/Vendor.json", func(c *fakebill.Call) (any, error) {
		return c.Data, nil // echo what arrived
	})
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.f.EndAll()
	// Characters that need escaping in JSON and in form bodies, and a long
	// field, so that the data is not a trivial case for any encoder.
	data := map[string]any{"obj": map[string]any{"entity": "Vendor",
		"name": `A & B "Co" =+% é`, "tags": []any{"x,y", map[string]any{"k": "}"}},
		"note": strings.Repeat(`x"\}],é `, 200)}}
	got := s.p.call("Crud/Create/Vendor.json", data)
	wantOK(t, got)
	var echoed any
	if err := json.Unmarshal(got.Result, &echoed); err != nil {
		t.Fatalf("result %s: %v", got.Result, err)
	}
	if diff := cmp.Diff(data, echoed); diff != "" {
		t.Errorf("data the fake received (-sent +received):\n%s", diff)
	}
	entries, _ := s.f.Journal(0)
	var hashes []string
	for _, e := range entries {
		if e.Op == "Crud/Create/Vendor" {
			hashes = append(hashes, e.DataSHA256)
		}
	}
	if len(hashes) != 2 || hashes[0] != hashes[1] || hashes[0] == "" {
		t.Errorf("create data hashes = %q, want the same data sent twice (call, replay)", hashes)
	}
	s.p.closeAndWait(false)
	s.p.checkNoSecrets(s.f.acct)
}

func testOtherErrors(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	want := []step{login, info}
	for _, tt := range []struct{ code, kind string }{
		{"BDC_1102", "auth"},
		{"BDC_1322", "rate_limit"},
		{"BDC_1144", "rate_limit"},
		{"BDC_1361", "api"},
		{"BDC_1129", "api"},
	} {
		err := s.f.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"},
			Reply: &fakebill.FaultReply{Code: tt.code}, Times: 1})
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, s.p.call("GetSessionInfo.json", map[string]any{}), tt.code, tt.kind)
		want = append(want, infoFault(tt.code))
	}
	// A plain-text 503, as a proxy in front of the API would send: no
	// envelope, so no code, and no reason to log in again.
	err := s.f.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"},
		Reply: &fakebill.FaultReply{Status: 503}, Times: 1})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, s.p.call("GetSessionInfo.json", map[string]any{}), "", "transport")
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.p.closeAndWait(false)
	wantSteps(t, s.f, append(want, info, info, logout))
	s.p.checkNoSecrets(s.f.acct)
}

func testBounded(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	err := s.f.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"},
		Reply: &fakebill.FaultReply{Code: fakebill.CodeSessionInvalid}})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, s.p.call("GetSessionInfo.json", map[string]any{}), fakebill.CodeSessionInvalid, "session")
	s.f.ClearFaults()
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.p.closeAndWait(false)
	// Two logins at most for the failing call, then a fresh one: the
	// session refused twice is never sent again.
	wantSteps(t, s.f, []step{login, infoDead, login, infoDead, login, info, logout})
	s.p.checkNoSecrets(s.f.acct)
}

func testLoginFailure(t *testing.T, a exampleAdapter) {
	requireTools(t, a.tools...)
	f := startFake(t, fakebill.LeakRefuse)
	wrong := f.acct
	wrong.Password = "not-" + f.acct.Password
	p, _ := startAdapter(t, a.command(t), adapterEnv(f.baseURL, wrong))
	wantError(t, p.call("GetSessionInfo.json", map[string]any{}), fakebill.CodeBadCredentials, "auth")
	p.closeAndWait(false)
	// No call goes out without a session.
	wantSteps(t, f, []step{{"Login", fakebill.CodeBadCredentials}})
	p.checkNoSecrets(wrong)
}

func testTransport(t *testing.T, a exampleAdapter) {
	requireTools(t, a.tools...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	acct := newAccount()
	p, _ := startAdapter(t, a.command(t), adapterEnv("http://"+addr+"/api/v2", acct))
	got := p.call("GetSessionInfo.json", map[string]any{})
	wantError(t, got, "", "transport")
	p.closeAndWait(false)
	p.checkNoSecrets(acct)
}

func testRedirect(t *testing.T, a exampleAdapter) {
	requireTools(t, a.tools...)
	var mu sync.Mutex
	followed := 0
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		followed++
		mu.Unlock()
	}))
	defer elsewhere.Close()
	// A 302 turns into a GET in most clients; a 307 re-sends the body.
	codes := make(chan int, 2)
	codes <- http.StatusFound
	codes <- http.StatusTemporaryRedirect
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusTemporaryRedirect
		select {
		case code = <-codes:
		default:
		}
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, code)
	}))
	defer redirector.Close()

	acct := newAccount()
	p, _ := startAdapter(t, a.command(t), adapterEnv(redirector.URL+"/api/v2", acct))
	for range 2 {
		wantError(t, p.call("GetSessionInfo.json", map[string]any{}), "", "transport")
	}
	p.closeAndWait(false)
	p.checkNoSecrets(acct)
	mu.Lock()
	defer mu.Unlock()
	if followed != 0 {
		t.Errorf("requests that followed the redirect = %d, want 0", followed)
	}
}

func testEOF(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.p.closeAndWait(true)
	wantSteps(t, s.f, []step{login, info, logout})
}

func testUnknownOp(t *testing.T, a exampleAdapter) {
	s := startSession(t, a, fakebill.LeakRefuse)
	got := s.p.roundTrip(map[string]any{"op": "frobnicate"})
	wantError(t, got, "", "other")
	s.p.closeAndWait(false)
}

func testConcurrentExpiry(t *testing.T, a exampleAdapter) {
	if !a.concurrent {
		t.Skipf("the %s adapter handles one request at a time", a.name)
	}
	s := startSession(t, a, fakebill.LeakRefuse)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	entries, _ := s.f.Journal(0)
	label := entries[len(entries)-1].Session
	s.f.EndAll()
	// Hold the three calls on the dead session until all have arrived, so
	// they really overlap and all see BDC_1109.
	err := s.f.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Session: label},
		Barrier: &fakebill.Barrier{N: 3, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int]bool{}
	for range 3 {
		ids[s.p.send(map[string]any{"op": "call", "path": "GetSessionInfo.json", "data": map[string]any{}})] = true
	}
	for range 3 {
		got := s.p.receive()
		if !ids[got.ID] {
			t.Fatalf("answer to unknown or repeated id: %s", got.raw)
		}
		delete(ids, got.ID)
		wantOK(t, got)
	}
	s.p.closeAndWait(false)
	if got := s.f.logins(); got != 2 {
		t.Errorf("logins = %d, want 2 (the first, then one for the three callers); requests: %v", got, s.f.steps())
	}
	s.p.checkNoSecrets(s.f.acct)
}

func testManyOverlapping(t *testing.T, a exampleAdapter) {
	if !a.concurrent {
		t.Skipf("the %s adapter handles one request at a time", a.name)
	}
	s := startSession(t, a, fakebill.LeakRefuse)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	s.f.EndAll()
	// However the calls interleave, a client whose callers share one
	// login needs exactly one more.
	const n = 12
	ids := map[int]bool{}
	for i := range n {
		ids[s.p.send(map[string]any{"op": "call", "path": "Crud/Read/Vendor.json", "data": map[string]any{"id": i}})] = true
	}
	for range n {
		got := s.p.receive()
		if !ids[got.ID] {
			t.Fatalf("answer to unknown or repeated id: %s", got.raw)
		}
		delete(ids, got.ID)
		wantOK(t, got)
	}
	s.p.closeAndWait(false)
	if got := s.f.logins(); got != 2 {
		t.Errorf("logins = %d, want 2; requests: %v", got, s.f.steps())
	}
}

// TestBrokenAdapterFaults shows the broken adapter's faults directly, so
// that the conformance test's expectations about it rest on something.
func TestBrokenAdapterFaults(t *testing.T) {
	a := brokenAdapter
	s := startSession(t, a, fakebill.LeakRecord)
	wantOK(t, s.p.call("GetSessionInfo.json", map[string]any{}))
	if err := s.f.Advance(fakebill.DefaultIdleTimeout); err != nil {
		t.Fatal(err)
	}
	wantError(t, s.p.call("GetSessionInfo.json", map[string]any{}), fakebill.CodeSessionInvalid, "session")
	wantError(t, s.p.call("GetSessionInfo.json", map[string]any{}), fakebill.CodeSessionInvalid, "session")
	s.p.closeAndWait(false)

	// No re-login, and the dead session sent again.
	wantSteps(t, s.f, []step{login, info, infoDead, infoDead, {"Logout", fakebill.CodeSessionInvalid}})
	entries, _ := s.f.Journal(0)
	var leaked, creds int
	for _, e := range entries {
		for _, l := range e.Leaks {
			if l.Field == "sessionId" && l.Where == "query" {
				leaked++
			}
		}
		if len(e.CredFields) > 0 {
			creds++
		}
	}
	if leaked != 3 || creds != 3 {
		t.Errorf("session leaks in the query, calls carrying credentials = %d, %d; want 3, 3", leaked, creds)
	}
	if prefix := s.f.acct.Password[:5]; !strings.Contains(s.p.stderr.String(), prefix) {
		t.Errorf("stderr does not show the password prefix; the broken adapter lost a fault")
	}
}

// TestShellAdapterArgv puts a recording curl first on PATH and checks that
// no credential or session field ever reached curl's command line, which
// any local user can read in the process list.
func TestShellAdapterArgv(t *testing.T) {
	requireTools(t, "bash", "curl")
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	shim, record := t.TempDir(), filepath.Join(t.TempDir(), "argv")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>" + record + "\nexec " + curl + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(shim, "curl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := startFake(t, fakebill.LeakRefuse)
	env := adapterEnv(f.baseURL, f.acct)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + shim + string(os.PathListSeparator) + v
		}
	}
	a := goodAdapters[2]
	p, _ := startAdapter(t, a.command(t), env)
	wantOK(t, p.call("GetSessionInfo.json", map[string]any{}))
	if err := f.Advance(fakebill.DefaultIdleTimeout); err != nil {
		t.Fatal(err)
	}
	wantOK(t, p.call("GetSessionInfo.json", map[string]any{}))
	p.closeAndWait(false)

	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	argv := string(b)
	if n := strings.Count(argv, "\n"); n != len(f.steps()) {
		t.Errorf("curl ran %d times, want once per request the fake saw (%d)", n, len(f.steps()))
	}
	forms := secretForms(f.acct)
	forms["a session field"] = "sessionId="
	forms["a credential field"] = "password="
	for name, v := range forms {
		if strings.Contains(argv, v) {
			t.Errorf("curl's command line held %s", name)
		}
	}
}

// BenchmarkAdapter measures, for each example adapter, one call through
// the protocol (adapter, client, HTTP, fake) with the session reused, and
// the start of a process up to its answer to hello plus its close: the
// conformance runner pays the latter once per check.
func BenchmarkAdapter(b *testing.B) {
	for _, a := range goodAdapters {
		b.Run(a.name+"/call", func(b *testing.B) {
			s := startSession(b, a, fakebill.LeakRefuse)
			for b.Loop() {
				if got := s.p.call("GetSessionInfo.json", map[string]any{}); !got.OK {
					b.Fatalf("call: %s", got.raw)
				}
			}
			b.StopTimer()
			s.p.closeAndWait(false)
			if n := s.f.logins(); n != 1 {
				b.Errorf("logins = %d, want 1", n)
			}
		})
		b.Run(a.name+"/start", func(b *testing.B) {
			requireTools(b, a.tools...)
			f := startFake(b, fakebill.LeakRefuse)
			argv := a.command(b)
			for b.Loop() {
				p, hello := startAdapter(b, argv, adapterEnv(f.baseURL, f.acct))
				if !hello.OK {
					b.Fatalf("hello: %s", hello.raw)
				}
				p.closeAndWait(false)
			}
		})
	}
}
