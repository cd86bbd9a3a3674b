package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

func TestLoopbackURL(t *testing.T) {
	tests := []struct {
		raw, base string // base "" means refused
	}{
		{"http://127.0.0.1:8080/api/v2", "http://127.0.0.1:8080/api/v2"},
		{"http://127.0.0.1:8080/api/v2/", "http://127.0.0.1:8080/api/v2"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v2"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v2"},
		{"https://127.0.0.2:9/bill", "https://127.0.0.2:9/bill"},
		{"http://[::1]:8080/api/v2", "http://[::1]:8080/api/v2"},
		{"http://localhost:8080/api/v2", "http://127.0.0.1:8080/api/v2"},
		{"http://10.0.0.1:8080/api/v2", ""},
		{"http://169.254.169.254/", ""},
		{"http://example.com/api/v2", ""},
		{"http://0.0.0.0:8080/", ""},
		{"http://[::]:8080/", ""},
		{"http://127.0.0.1.example.com/", ""},
		{"http://[::ffff:10.0.0.1]/", ""},
		{"ftp://127.0.0.1/", ""},
		{"127.0.0.1:8080", ""},
		{"http://user:pw@127.0.0.1/", ""},
		{"http://127.0.0.1/?sessionId=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			base, _, err := loopbackURL(tt.raw)
			if tt.base == "" {
				if err == nil {
					t.Errorf("loopbackURL(%q) = %q, want an error", tt.raw, base)
				}
				return
			}
			if err != nil || base != tt.base {
				t.Errorf("loopbackURL(%q) = %q, %v; want %q", tt.raw, base, err, tt.base)
			}
		})
	}
}

// newFake serves a fakebill on 127.0.0.1 with a manual clock.
func newFake(t *testing.T, opts fakebill.Options) (*fakebill.Server, string) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = fakebill.NewManualClock(fakebill.DefaultStartTime)
	}
	s, err := fakebill.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + "/api/v2"
}

// runJSON runs the command and decodes its JSON report.
func runJSON(t *testing.T, args ...string) (int, *report, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"-json", out}, args...), &stdout, &stderr)
	if code == 2 {
		return code, nil, stderr.String()
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("run %q = %d, no report: %v\nstderr: %s", args, code, err, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report does not parse: %v\n%s", err, b)
	}
	return code, &rep, stdout.String()
}

func TestLoad(t *testing.T) {
	s, url := newFake(t, fakebill.Options{})
	code, rep, text := runJSON(t, "-url", url, "-clients", "4", "-requests", "3000",
		"-advance-every", "1000", "-leak-fraction", "0.05", "-calls-per-login", "20",
		"-idle-sessions", "100")
	if code != 0 {
		t.Fatalf("exit status %d, want 0\n%s", code, text)
	}
	if rep.Unexpected != 0 || rep.Outcomes["ok"] == 0 {
		t.Errorf("unexpected errors %d, ok %d; want 0 and more\n%s",
			rep.Unexpected, rep.Outcomes["ok"], text)
	}
	if rep.Requests != 3000 {
		t.Errorf("requests = %d, want 3000", rep.Requests)
	}
	if rep.ClockMoves != 3 {
		t.Errorf("clock moves = %d, want 3", rep.ClockMoves)
	}
	if got, want := s.Now(), fakebill.DefaultStartTime.Add(3*36*time.Minute); !got.Equal(want) {
		t.Errorf("server clock = %v, want %v", got, want)
	}
	for _, kind := range []string{"expired", "leak_refused"} {
		if rep.Outcomes[kind] == 0 {
			t.Errorf("outcome %s never seen; the run should provoke it\n%s", kind, text)
		}
	}
	for _, op := range []string{"all", "login", "call", "leak", "logout"} {
		p := rep.Latency[op]
		if p.N == 0 || p.P50 <= 0 || p.P50 > p.P90 || p.P90 > p.P99 || p.P99 > p.Max {
			t.Errorf("latency of %s = %+v, want n > 0 and 0 < p50 <= p90 <= p99 <= max", op, p)
		}
	}
	if rep.Before.HeapInuseBytes == 0 || rep.After.HeapInuseBytes == 0 ||
		rep.After.PeakSessions < 100 {
		t.Errorf("stats before %+v, after %+v; want heap readings and a peak of at least 100",
			rep.Before, rep.After)
	}
	// The run's traffic is in the server's own counters too.
	if st := s.Stats(); st.Logins < int64(rep.Latency["login"].N) {
		t.Errorf("server counted %d logins, the report %d", st.Logins, rep.Latency["login"].N)
	}
	if !strings.Contains(text, "PASS") {
		t.Errorf("text report does not end in PASS:\n%s", text)
	}
}

// A server that misbehaves must show in the report and the exit status.
func TestLoadCountsUnexpected(t *testing.T) {
	s, url := newFake(t, fakebill.Options{})
	if err := s.AddFault(fakebill.Fault{
		Match: fakebill.FaultMatch{Path: "List/Vendor.json"},
		Reply: &fakebill.FaultReply{Code: fakebill.CodeConcurrencyLimit},
	}); err != nil {
		t.Fatal(err)
	}
	code, rep, text := runJSON(t, "-url", url, "-clients", "2", "-requests", "500",
		"-advance-every", "0")
	if code != 1 {
		t.Errorf("exit status %d, want 1\n%s", code, text)
	}
	if rep.Outcomes["BDC_1322"] == 0 || rep.Unexpected != rep.Outcomes["BDC_1322"] {
		t.Errorf("outcomes %v, unexpected %d; want only BDC_1322 unexpected",
			rep.Outcomes, rep.Unexpected)
	}
	if len(rep.Errors) == 0 || !strings.Contains(rep.Errors[0], "BDC_1322") {
		t.Errorf("errors %q, want BDC_1322 quoted", rep.Errors)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"remote url", []string{"-url", "http://192.0.2.1:8080/api/v2"}, "not a loopback"},
		{"metadata url", []string{"-url", "http://169.254.169.254/"}, "not a loopback"},
		{"no target", nil, "exactly one of -url and -spawn"},
		{"both targets", []string{"-url", "http://127.0.0.1:1/", "-spawn", "x"}, "exactly one"},
		{"bad fraction", []string{"-url", "http://127.0.0.1:1/", "-leak-fraction", "2"}, "-leak-fraction"},
		{"stray argument", []string{"-url", "http://127.0.0.1:1/", "extra"}, "unexpected argument"},
		{"nothing listening", []string{"-url", "http://127.0.0.1:1/", "-requests", "1"}, "stats before the run"},
		{"missing binary", []string{"-spawn", filepath.Join(os.TempDir(), "no-such-fakebill")}, "-spawn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr = %q, want it to mention %q", stderr.String(), tt.want)
			}
		})
	}
}

// The dialer itself refuses anything but loopback, whatever URL it is
// handed later.
func TestDialerRefusesRemote(t *testing.T) {
	tg, err := newTarget("http://127.0.0.1:1/api/v2", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tg.client.Get("http://192.0.2.1:80/")
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("GET of a remote address: %v, want %v", err, errNotLoopback)
	}
}

// soakSessions is the soak test's scale: large enough that the sessions'
// heap (about 12 MiB) dwarfs the noise of a test process, which is some
// hundreds of KiB, yet done in about 15 seconds. Set
// FAKEBILL_SOAK_SESSIONS to run at another scale.
func soakSessions(t *testing.T) int {
	if v := os.Getenv("FAKEBILL_SOAK_SESSIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FAKEBILL_SOAK_SESSIONS=%q: want a positive integer", v)
		}
		return n
	}
	if testing.Short() || raceEnabled {
		t.Skip("a meaningful heap reading needs 100,000 sessions; skipped with -short and -race")
	}
	return 100_000
}

func TestSoak(t *testing.T) {
	n := soakSessions(t)
	_, url := newFake(t, fakebill.Options{JournalSize: 1000})
	code, rep, text := runJSON(t, "-url", url, "-soak", "-sessions", strconv.Itoa(n),
		"-cycles", "2", "-clients", "4")
	if code != 0 {
		t.Fatalf("exit status %d, want 0\n%s", code, text)
	}
	t.Log("\n" + text)
	if rep.Soak == nil || len(rep.Soak.Cycles) != 2 || !rep.Soak.Returned {
		t.Fatalf("soak report %+v, want 2 cycles, returned", rep.Soak)
	}
	for i, c := range rep.Soak.Cycles {
		if c.Sessions != n || c.LiveAfter != 0 {
			t.Errorf("cycle %d: %d sessions, %d live after; want %d and 0",
				i+1, c.Sessions, c.LiveAfter, n)
		}
		if c.Retained > 0.10 {
			t.Errorf("cycle %d: %.1f%% of the sessions' heap retained, want at most 10%%",
				i+1, c.Retained*100)
		}
		if c.PerSession <= 0 || c.PerSession > 300 {
			t.Errorf("cycle %d: %.0f bytes per session, want (0, 300]", i+1, c.PerSession)
		}
	}
}

// fakeHeapServer is a stand-in fakebill whose heap never comes back: the
// soak must fail on it.
func fakeHeapServer(t *testing.T) string {
	var heap atomic.Uint64
	heap.Store(10 << 20)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/Login.json", func(w http.ResponseWriter, r *http.Request) {
		heap.Add(200) // every session keeps 200 bytes, forever
		w.Write([]byte(`{"response_status":0,"response_message":"Success","response_data":{"sessionId":"s"}}`))
	})
	mux.HandleFunc("POST /api/v2/Logout.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"response_status":0,"response_message":"Success","response_data":{}}`))
	})
	empty := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }
	mux.HandleFunc("DELETE /_fakebill/journal", empty)
	mux.HandleFunc("POST /_fakebill/clock/advance", empty)
	mux.HandleFunc("GET /_fakebill/stats", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(stats{HeapInuseBytes: heap.Load()})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestSoakFailsWhenHeapStays(t *testing.T) {
	code, rep, text := runJSON(t, "-url", fakeHeapServer(t), "-soak", "-sessions", "2000",
		"-clients", "2")
	if code != 1 {
		t.Errorf("exit status %d, want 1\n%s", code, text)
	}
	if rep.Soak == nil || rep.Soak.Returned || len(rep.Soak.Cycles) != 1 ||
		rep.Soak.Cycles[0].Retained < 0.99 {
		t.Errorf("soak report %+v, want one cycle, all retained, not returned", rep.Soak)
	}
	if !strings.Contains(text, "FAIL") {
		t.Errorf("text report does not say FAIL:\n%s", text)
	}
}

// TestSpawn runs the load against the real binary, started by -spawn.
func TestSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/fakebill; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "fakebill")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, gobin, "build", "-o", bin, "../fakebill")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	code, rep, text := runJSON(t, "-spawn", bin, "-clients", "4", "-requests", "2000", "-advance-every", "700",
		"--", "-journal-size", "500")
	if code != 0 || rep.Unexpected != 0 || rep.ClockMoves != 2 {
		t.Fatalf("exit status %d, %d unexpected, %d clock moves; want 0, 0, 2\n%s",
			code, rep.Unexpected, rep.ClockMoves, text)
	}
	if rep.After.Dropped == 0 {
		t.Errorf("journal dropped %d with -journal-size 500 after 2000 requests; the server flag did not reach it",
			rep.After.Dropped)
	}
}

// With -json -, standard output is the JSON report alone.
func TestJSONToStdout(t *testing.T) {
	_, url := newFake(t, fakebill.Options{})
	var stdout, stderr bytes.Buffer
	args := []string{"-url", url, "-clients", "2", "-requests", "50", "-json", "-"}
	code := run(t.Context(), args, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit status %d, want 0; stderr: %s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, stdout.String())
	}
	if rep.Requests != 50 || rep.Mode != "load" {
		t.Errorf("report: mode %q, %d requests; want load, 50", rep.Mode, rep.Requests)
	}
}
