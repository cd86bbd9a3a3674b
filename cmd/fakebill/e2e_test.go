package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// fakebillBinary builds cmd/fakebill once per test run, statically, as the
// Dockerfile expects it.
func fakebillBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build the binary: %v", err)
	}
	buildOnce.Do(func() {
		binPath = filepath.Join(binDir, "fakebill")
		cmd := exec.Command(gobin, "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// process is a fakebill binary started by a test.
type process struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan error // the result of Wait
	exited bool       // done has been drained
}

// startProcess runs the binary with args and a scrubbed environment, and
// waits for its ready file. It kills the process at the end of the test if
// the test has not stopped it.
func startProcess(t *testing.T, args ...string) (p *process, baseURL string) {
	t.Helper()
	bin := fakebillBinary(t)
	ready := filepath.Join(t.TempDir(), "ready")
	p = &process{done: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-ready-file", ready}, args...)...)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.exited {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p, waitReady(t, p, ready)
}

// waitReady polls for the ready file until a deadline, or until the
// process exits.
func waitReady(t *testing.T, p *process, ready string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(ready); err == nil {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("fakebill exited before it was ready: %v\nstderr:\n%s", err, p.stderr.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready file within 15s; stderr:\n%s", p.stderr.String())
		}
	}
}

// signal sends sig and returns the exit error, failing the test if the
// process does not exit within a bound.
func (p *process) signal(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.exited = true
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("fakebill did not exit within 10s of %v", sig)
		return nil
	}
}

func TestEndToEnd(t *testing.T) {
	p, base := startProcess(t, "-journal", filepath.Join(t.TempDir(), "journal.jsonl"))
	u, err := url.Parse(base)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/api/v2" {
		t.Fatalf("ready file holds %q, want http://127.0.0.1:PORT/api/v2", base)
	}
	s := &served{base: base, root: u.Scheme + "://" + u.Host, client: &http.Client{Transport: &http.Transport{}}}
	defer s.client.CloseIdleConnections()

	// Log in and use the session.
	sid := s.login(t, demo)
	if r := s.call(t, base, "GetSessionInfo.json", sessionForm(demo, sid)); r.Status != 0 {
		t.Fatalf("GetSessionInfo = %s %s, want success", r.Message, r.Data)
	}

	// 35 idle minutes through the control API end it.
	s.advance(t, "35m")
	r := s.call(t, base, "GetSessionInfo.json", sessionForm(demo, sid))
	if r.code() != "BDC_1109" || !strings.Contains(string(r.Data), "Session is invalid.  Please log in.") {
		t.Errorf("after 35m idle: %s, want BDC_1109 with its message", r.Data)
	}

	// A session id in the URL is refused.
	sid = s.login(t, demo)
	r = s.call(t, base, "GetSessionInfo.json?sessionId="+url.QueryEscape(sid), url.Values{"devKey": {demo.DevKey}})
	if r.HTTPStatus != 400 || r.code() != "FAKEBILL_SECRET_IN_URL" {
		t.Errorf("?sessionId= = %d %q, want 400 FAKEBILL_SECRET_IN_URL", r.HTTPStatus, r.code())
	}

	// The health command agrees the server is up, given its URL or, as in
	// a container, its address in FAKEBILL_ADDR.
	if code, out := runHealthCmd(t, "-url", s.root); code != 0 {
		t.Errorf("fakebill health -url %s = %d, want 0\n%s", s.root, code, out)
	}
	if code, out := runHealthCmd(t, "FAKEBILL_ADDR="+u.Host); code != 0 {
		t.Errorf("FAKEBILL_ADDR=%s fakebill health = %d, want 0\n%s", u.Host, code, out)
	}

	// SIGTERM shuts it down cleanly.
	s.client.CloseIdleConnections()
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0; stderr:\n%s", err, p.stderr.String())
	}
	if code, _ := runHealthCmd(t, "-url", s.root); code != 1 {
		t.Errorf("fakebill health after shutdown = %d, want 1", code)
	}
	if got, want := nonEmptyLines(p.stdout.String()), []string{
		"fakebill: serving " + base,
		"fakebill: demo account userName=demo@example.com password=demo-password orgId=00800000000000000001 devKey=demo-dev-key",
	}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if strings.Contains(p.stderr.String(), sid) {
		t.Errorf("stderr holds a session id:\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("stderr = %q, want a shutdown line", p.stderr.String())
	}
}

func TestEndToEndTLS(t *testing.T) {
	p, base := startProcess(t, "-tls")
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("ready file holds %q, want an https URL", base)
	}
	u, _ := url.Parse(base)
	s := &served{base: base, root: u.Scheme + "://" + u.Host, client: &http.Client{Transport: &http.Transport{}}}
	defer s.client.CloseIdleConnections()

	// An untrusting client is turned away; one that trusts the served
	// certificate logs in.
	if _, err := s.client.PostForm(base+"/Login.json", loginForm(demo)); err == nil {
		t.Error("Login over https with an untrusting client succeeded, want a certificate error")
	}
	s.trust(t, s.fetchCert(t))
	sid := s.login(t, demo)
	if r := s.call(t, base, "GetSessionInfo.json", sessionForm(demo, sid)); r.Status != 0 {
		t.Errorf("GetSessionInfo over https = %s %s, want success", r.Message, r.Data)
	}

	// health speaks https, from the URL or from FAKEBILL_TLS, and skips
	// verification.
	if code, out := runHealthCmd(t, "-url", s.root); code != 0 {
		t.Errorf("fakebill health -url %s = %d, want 0\n%s", s.root, code, out)
	}
	if code, out := runHealthCmd(t, "FAKEBILL_ADDR="+u.Host, "FAKEBILL_TLS=true"); code != 0 {
		t.Errorf("FAKEBILL_ADDR=%s FAKEBILL_TLS=true fakebill health = %d, want 0\n%s", u.Host, code, out)
	}
	if code, _ := runHealthCmd(t, "FAKEBILL_ADDR="+u.Host); code != 1 {
		t.Errorf("plain-http health against an https server = %d, want 1", code)
	}

	s.client.CloseIdleConnections()
	if err := p.signal(t, syscall.SIGINT); err != nil {
		t.Errorf("exit after SIGINT: %v, want status 0; stderr:\n%s", err, p.stderr.String())
	}
}

func TestEndToEndBadEnvironment(t *testing.T) {
	bin := fakebillBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"FAKEBILL_IDLE_TIMEOUT=forever"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("fakebill with FAKEBILL_IDLE_TIMEOUT=forever: %v, want exit status 2", err)
	}
	if want := `fakebill: invalid FAKEBILL_IDLE_TIMEOUT="forever": want a duration such as 35m`; strings.TrimSpace(stderr.String()) != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// runHealthCmd runs "fakebill health"; arguments of the form NAME=VALUE
// go to its environment, the rest to its command line.
func runHealthCmd(t *testing.T, args ...string) (code int, output string) {
	t.Helper()
	cmd := exec.Command(fakebillBinary(t), "health")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, a := range args {
		if strings.HasPrefix(a, "FAKEBILL_") {
			cmd.Env = append(cmd.Env, a)
		} else {
			cmd.Args = append(cmd.Args, a)
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("fakebill health: %v", err)
	return -1, ""
}
