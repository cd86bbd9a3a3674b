package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fakebill/toolkit/internal/syncbuf"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/internal/adapter/adaptertest"
	"github.com/fakebill/toolkit/internal/report"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	adaptertest.MaybeRun()
	goleak.VerifyTestMain(m)
}

// syncBuffer collects output written concurrently.
type syncBuffer = syncbuf.Buffer

var account = fakebill.Account{
	UserName: "q7Xv2m-adapter@example.com",
	Password: "pw-9f1c2b7e4d3a8c6b",
	OrgID:    "00801Zx9q2Lm4Pw7Rt5a",
	DevKey:   "dk-5e8a1f3c9b2d7e6f",
}

// newEnv serves a fresh fake and returns the environment for it.
func newEnv(t *testing.T) (conformance.Env, *fakebill.Server, *syncBuffer) {
	t.Helper()
	srv, err := fakebill.NewServer(fakebill.Options{Accounts: []fakebill.Account{account}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	log := &syncBuffer{}
	return conformance.Env{
		BaseURL: ts.URL + "/api/v2", UserName: account.UserName, Password: account.Password,
		OrgID: account.OrgID, DevKey: account.DevKey, Log: log,
	}, srv, log
}

func TestEnvironmentIsScrubbed(t *testing.T) {
	env, _, _ := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("env"), Timeout: 10 * time.Second, Environ: []string{
		"PATH=/usr/bin:/bin", "HOME=/home/ci", "LANG=C.UTF-8", "LC_ALL=C", "LANGUAGE=en",
		"AWS_SECRET_ACCESS_KEY=nope", "GITHUB_TOKEN=nope", "http_proxy=http://corp:3128", "NO_PROXY=corp",
	}}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	raw, err := p.Call(t.Context(), "Env.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	proxy := got["HTTP_PROXY"]
	if !strings.HasPrefix(proxy, "http://127.0.0.1:") {
		t.Errorf("HTTP_PROXY = %q, want a loopback refuser", proxy)
	}
	want := map[string]string{
		"PATH": "/usr/bin:/bin", "HOME": "/home/ci", "LANG": "C.UTF-8", "LC_ALL": "C", "LANGUAGE": "en",
		"FAKEBILL_URL": env.BaseURL, "FAKEBILL_USER_NAME": account.UserName, "FAKEBILL_PASSWORD": account.Password,
		"FAKEBILL_ORG_ID": account.OrgID, "FAKEBILL_DEV_KEY": account.DevKey,
		"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
		"NO_PROXY": "127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("adapter environment (-want +got):\n%s", diff)
	}
}

func TestCallsAndErrors(t *testing.T) {
	env, _, log := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("echo"), Timeout: 10 * time.Second}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Capabilities(), (Capabilities{Protocol: 1, API: "v2", Concurrent: true, Close: true}); got != want {
		t.Errorf("Capabilities() = %+v, want %+v", got, want)
	}

	raw, err := p.Call(t.Context(), "Crud/Read/Vendor.json", map[string]string{"id": "009x"})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got, want := string(raw), `{"data":{"id":"009x"},"path":"Crud/Read/Vendor.json"}`; got != want {
		t.Errorf("Call result = %s, want %s", got, want)
	}

	_, err = p.Call(t.Context(), "Fail.json", nil)
	var ce interface {
		Code() string
		Kind() string
	}
	if !errors.As(err, &ce) {
		t.Fatalf("Call error = %v (%T), want one with Code and Kind", err, err)
	}
	if ce.Code() != "BDC_1109" || ce.Kind() != "session" || err.Error() != "Session is invalid.  Please log in." {
		t.Errorf("Call error = code %q kind %q message %q, want BDC_1109, session, the service's message", ce.Code(), ce.Kind(), err.Error())
	}

	// Concurrent calls are matched to their answers by id.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			path := fmt.Sprintf("Op%d.json", i)
			raw, err := p.Call(t.Context(), path, i)
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf(`{"data":%d,"path":%q}`, i, path); string(raw) != want {
				errs <- fmt.Errorf("Call(%s) = %s, want %s", path, raw, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got := p.Problems(); len(got) != 0 {
		t.Errorf("Problems() = %q, want none", got)
	}
	if !strings.Contains(log.String(), "calling Crud/Read/Vendor.json\n") {
		t.Errorf("stderr not copied to Env.Log; got %q", log.String())
	}
	if _, err := p.Call(t.Context(), "After.json", nil); err == nil {
		t.Errorf("Call after Close succeeded")
	}
}

func TestGoodClientAgainstFake(t *testing.T) {
	env, srv, _ := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("good"), Timeout: 20 * time.Second}
	caps, err := a.Probe(t.Context(), env)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if want := (Capabilities{Protocol: 1, API: "v2", Concurrent: true, Close: true}); caps != want {
		t.Errorf("Probe = %+v, want %+v", caps, want)
	}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Call(t.Context(), "GetSessionInfo.json", map[string]any{})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	var info struct {
		OrganizationID string `json:"organizationId"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.OrganizationID != account.OrgID {
		t.Errorf("GetSessionInfo = %s, want organizationId %s", raw, account.OrgID)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got := p.Problems(); len(got) != 0 {
		t.Errorf("Problems() = %q, want none", got)
	}
	entries, _ := srv.Journal(0)
	var ops []string
	for _, e := range entries {
		ops = append(ops, e.Op)
	}
	if diff := cmp.Diff([]string{"Login", "GetSessionInfo", "Logout"}, ops); diff != "" {
		t.Errorf("journaled operations (-want +got):\n%s", diff)
	}
	if got := a.Secrets(); !slices.Contains(got, report.Secret{Field: "password", Value: account.Password}) {
		t.Errorf("Secrets() = %d entries, want the password among them", len(got))
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		mode         string
		wantStartErr string // substring; "" means Start succeeds
		wantCallErr  bool
		wantProblems []string // substrings, in order
	}{
		{mode: "v3", wantStartErr: `speaks API "v3"`},
		{mode: "proto2", wantStartErr: "speaks protocol 2"},
		{mode: "refuse", wantStartErr: "refused hello: protocol 1 not supported"},
		{mode: "hang-hello", wantStartErr: "no answer to request 0"},
		{mode: "hang", wantCallErr: true, wantProblems: []string{"hang: no answer to request 1 (call GetSessionInfo.json) within"}},
		{mode: "crash", wantCallErr: true, wantProblems: []string{"crash: the adapter exited (exit status 3) before close; its stderr ended with:\npanic: the client under test fell over"}},
		{mode: "nonjson", wantProblems: []string{"protocol error: stdout line 2 is not a JSON object (34 bytes)"}},
		{mode: "huge", wantCallErr: true, wantProblems: []string{"protocol error: stdout line 2 is longer than 1 MiB"}},
		{mode: "unknown-id", wantProblems: []string{"an answer with id 1001, which is not an open request"}},
		{mode: "no-exit", wantProblems: []string{"did not exit within 2s of close"}},
		{mode: "hang-close", wantProblems: []string{"did not exit within 2s of close"}},
		{mode: "bad-exit", wantProblems: []string{"the adapter exited (exit status 1) after close"}},
		{mode: "proxy", wantProblems: []string{`the client tried to reach "api.bill.com" through the proxy (once)`}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			env, _, _ := newEnv(t)
			// Adapters that should exit get a generous grace, so a loaded
			// machine cannot fail them; those that never exit wait 2s.
			grace := 15 * time.Second
			if tt.mode == "no-exit" || tt.mode == "hang-close" {
				grace = 2 * time.Second
			}
			a := &Adapter{Args: adaptertest.Command(tt.mode), Timeout: 5 * time.Second, closeGrace: grace}
			p, err := a.Start(t.Context(), env)
			if tt.wantStartErr != "" {
				if err == nil {
					p.Close()
					t.Fatalf("Start succeeded, want an error containing %q", tt.wantStartErr)
				}
				if !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), tt.wantStartErr) {
					t.Errorf("Start error = %v, want ErrSetup containing %q", err, tt.wantStartErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			_, err = p.Call(t.Context(), "GetSessionInfo.json", map[string]any{})
			if gotErr := err != nil; gotErr != tt.wantCallErr {
				t.Errorf("Call error = %v, want error: %v", err, tt.wantCallErr)
			}
			p.Close()
			got := p.Problems()
			if len(got) != len(tt.wantProblems) {
				t.Fatalf("Problems() = %q, want %d like %q", got, len(tt.wantProblems), tt.wantProblems)
			}
			for i, w := range tt.wantProblems {
				if !strings.Contains(got[i], w) {
					t.Errorf("Problems()[%d] = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestCloseDeafAdapter closes an adapter that stopped reading stdin while
// a request too large for the pipe is being written to it.
func TestCloseDeafAdapter(t *testing.T) {
	env, _, _ := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("deaf"), Timeout: time.Minute, closeGrace: time.Second}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := p.Call(ctx, "Big.json", strings.Repeat("x", 4<<20)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Call error = %v, want the caller's deadline", err)
	}
	p.Close()
	if got := p.Problems(); len(got) != 1 || !strings.Contains(got[0], "did not exit within 1s of close") {
		t.Errorf("Problems() = %q, want the kill after close", got)
	}
}

func TestNoProcessLeftBehind(t *testing.T) {
	env, _, _ := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("grandchild"), Timeout: 10 * time.Second}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Call(t.Context(), "Pid.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Pid int }
	if err := json.Unmarshal(raw, &got); err != nil || got.Pid == 0 {
		t.Fatalf("no child pid in %s", raw)
	}
	p.Close()
	if probs := p.Problems(); len(probs) != 0 {
		t.Errorf("Problems() = %q, want none", probs)
	}
	// The kill is asynchronous in the kernel, and a process that is not
	// ours gives no event to wait on: poll for the child's end.
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for alive(got.Pid) {
		select {
		case <-deadline:
			syscall.Kill(got.Pid, syscall.SIGKILL)
			t.Fatalf("child %d of the adapter still runs after Close", got.Pid)
		case <-tick.C:
		}
	}
}

// A child the adapter leaves running with its output open is the
// adapter's business: a clean exit is still clean, and the call results
// stand.
func TestLingeringChildIsNotAProblem(t *testing.T) {
	env, _, _ := newEnv(t)
	a := &Adapter{Args: adaptertest.Command("linger"), Timeout: 10 * time.Second}
	p, err := a.Start(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(t.Context(), "GetSessionInfo.json", nil); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	if probs := p.Problems(); len(probs) != 0 {
		t.Errorf("Problems() = %q, want none", probs)
	}
}

// alive reports whether pid runs (a zombie counts as ended).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestContextEndKillsAdapter(t *testing.T) {
	env, _, _ := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	a := &Adapter{Args: adaptertest.Command("hang"), Timeout: time.Minute}
	p, err := a.Start(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), "GetSessionInfo.json", nil)
		done <- err
	}()
	cancel()
	if err := <-done; err == nil {
		t.Errorf("Call on a killed adapter succeeded")
	}
	p.Close()
	if got := p.Problems(); len(got) != 1 || !strings.Contains(got[0], "run timed out or was stopped") {
		t.Errorf("Problems() = %q, want the run's end", got)
	}
}

func TestNoCommand(t *testing.T) {
	env, _, _ := newEnv(t)
	for _, args := range [][]string{nil, {"/nonexistent/fakebill-adapter"}} {
		_, err := (&Adapter{Args: args}).Probe(t.Context(), env)
		if !errors.Is(err, ErrSetup) {
			t.Errorf("Probe(%q) error = %v, want ErrSetup", args, err)
		}
	}
}

// BenchmarkCall measures one protocol round trip to a running adapter
// that answers without HTTP: the runner's own overhead per call.
func BenchmarkCall(b *testing.B) {
	env := conformance.Env{BaseURL: "http://127.0.0.1:1/api/v2", UserName: "u", Password: "p", OrgID: "o", DevKey: "d"}
	a := &Adapter{Args: adaptertest.Command("echo"), Timeout: 10 * time.Second}
	p, err := a.Start(b.Context(), env)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	data := map[string]string{"id": "00901ABCDEFGHIJKLMNO"}
	for b.Loop() {
		if _, err := p.Call(b.Context(), "Crud/Read/Vendor.json", data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
