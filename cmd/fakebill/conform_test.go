package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/internal/adapter/adaptertest"
	"github.com/google/go-cmp/cmp"
)

// The test binary doubles as the adapter under test: started with
// adaptertest's flag, it speaks the protocol instead of running tests.
func init() { adaptertest.MaybeRun() }

// jsonReport is the JSON report's schema as a consumer reads it.
type jsonReport struct {
	Version int    `json:"version"`
	Tool    string `json:"tool"`
	Catalog string `json:"catalog"`
	Checks  []struct {
		ID      string   `json:"id"`
		Level   string   `json:"level"`
		Status  string   `json:"status"`
		Reason  string   `json:"reason"`
		Source  string   `json:"source"`
		Details []string `json:"details"`
	} `json:"checks"`
	Summary struct {
		Pass  int      `json:"pass"`
		Fail  int      `json:"fail"`
		Skip  int      `json:"skip"`
		Known int      `json:"known"`
		Fixed []string `json:"fixed"`
	} `json:"summary"`
}

// byStatus lists check ids per status.
func (r *jsonReport) byStatus(status string) []string {
	var ids []string
	for _, c := range r.Checks {
		if c.Status == status {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

type junitReport struct {
	Suites []struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Cases    []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// conformRun is one run of conform and what it wrote.
type conformRun struct {
	code           int
	stdout, stderr string
	json           jsonReport
	jsonRaw        []byte
	junit          junitReport
	junitRaw       []byte
}

// conform runs the conform command with the JSON and JUnit reports on,
// and the adapter in mode. It fails t if a report is missing or invalid
// after a run that judged something.
func conform(t *testing.T, flags []string, mode string, extra ...string) conformRun {
	t.Helper()
	dir := t.TempDir()
	jsonFile, junitFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	args := append([]string{"-json", jsonFile, "-junit", junitFile}, flags...)
	if mode != "" {
		args = append(append(args, "--"), adaptertest.Command(mode, extra...)...)
	}
	var stdout, stderr bytes.Buffer
	r := conformRun{code: runConform(t.Context(), args, &stdout, &stderr)}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if r.code == 2 {
		return r
	}
	var err error
	if r.jsonRaw, err = os.ReadFile(jsonFile); err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	if err := json.Unmarshal(r.jsonRaw, &r.json); err != nil {
		t.Fatalf("JSON report does not parse: %v", err)
	}
	if r.junitRaw, err = os.ReadFile(junitFile); err != nil {
		t.Fatalf("no JUnit report: %v", err)
	}
	if err := xml.Unmarshal(r.junitRaw, &r.junit); err != nil {
		t.Fatalf("JUnit report does not parse: %v", err)
	}
	if len(r.junit.Suites) != 1 || len(r.junit.Suites[0].Cases) != len(r.json.Checks) {
		t.Errorf("JUnit has %d suites, want 1 with one testcase per check (%d)", len(r.junit.Suites), len(r.json.Checks))
	}
	return r
}

// activeIDs lists the catalog's checks that conform runs.
func activeIDs() []string {
	var ids []string
	for _, c := range conformance.Checks() {
		if !passive(c) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func without(ids []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return slices.Contains(drop, id) })
}

func TestConformVerdicts(t *testing.T) {
	all := activeIDs()
	tests := []struct {
		mode       string
		flags      []string
		wantCode   int
		wantFail   []string // nil: none
		wantSkip   []string
		wantDetail string // in the details of every failure
	}{
		{mode: "good", wantCode: 0},
		{mode: "sequential", wantCode: 0, wantSkip: []string{"single-login-on-concurrent-expiry"}},
		{
			mode: "no-relogin", wantCode: 1,
			wantFail: []string{
				"relogin-after-idle-expiry", "relogin-after-server-ended-session",
				"replay-after-expiry-same-request", "single-login-on-concurrent-expiry",
				"login-failure-is-auth-error", "no-stale-session", "logout-on-close",
			},
		},
		{mode: "no-logout", wantCode: 0, wantFail: []string{"logout-on-close"}},
		{mode: "no-logout", flags: []string{"-strict"}, wantCode: 1, wantFail: []string{"logout-on-close"}},
		// Under load even hello may miss so short a timeout: that fails the
		// check too, as a setup error.
		{mode: "hang", flags: []string{"-timeout", "500ms"}, wantCode: 1, wantFail: all, wantDetail: "no answer to request"},
		{mode: "crash", wantCode: 1, wantFail: all, wantDetail: "crash: the adapter exited (exit status 3) before close"},
		{mode: "nonjson", wantCode: 1, wantFail: all, wantDetail: "protocol error: stdout line 2 is not a JSON object"},
		{mode: "bad-exit", wantCode: 1, wantFail: all, wantDetail: "the adapter exited (exit status 1) after close"},
		{mode: "proxy", wantCode: 1, wantFail: all, wantDetail: `the client tried to reach "api.bill.com" through the proxy`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{tt.mode}, tt.flags...), " "), func(t *testing.T) {
			t.Parallel()
			r := conform(t, tt.flags, tt.mode)
			if r.code != tt.wantCode {
				t.Fatalf("exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if diff := cmp.Diff(tt.wantFail, r.json.byStatus("fail")); diff != "" {
				t.Errorf("failing checks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantSkip, r.json.byStatus("skip")); diff != "" {
				t.Errorf("skipped checks (-want +got):\n%s", diff)
			}
			for _, c := range r.json.Checks {
				if c.Status == "fail" && tt.wantDetail != "" && !strings.Contains(strings.Join(c.Details, "\n"), tt.wantDetail) {
					t.Errorf("%s details lack %q:\n%s", c.ID, tt.wantDetail, strings.Join(c.Details, "\n"))
				}
			}
			s := r.json.Summary
			if want := len(all) - len(tt.wantFail) - len(tt.wantSkip); s.Pass != want || s.Fail != len(tt.wantFail) || s.Skip != len(tt.wantSkip) {
				t.Errorf("summary = %+v, want pass %d, fail %d, skip %d", s, want, len(tt.wantFail), len(tt.wantSkip))
			}
			// JUnit: enforced failures fail; skips and unenforced SHOULD
			// failures are skipped.
			wantFailures, wantSkipped := 0, len(tt.wantSkip)
			for _, c := range r.json.Checks {
				if c.Status == "fail" && (c.Level == "MUST" || slices.Contains(tt.flags, "-strict")) {
					wantFailures++
				} else if c.Status == "fail" {
					wantSkipped++
				}
			}
			if js := r.junit.Suites[0]; js.Failures != wantFailures || js.Skipped != wantSkipped {
				t.Errorf("JUnit failures %d, skipped %d; want %d, %d", js.Failures, js.Skipped, wantFailures, wantSkipped)
			}
			if r.json.Version != 1 || r.json.Tool != "fakebill 0.1.0" || r.json.Catalog != conformance.CatalogVersion {
				t.Errorf("report header = version %d, tool %q, catalog %q", r.json.Version, r.json.Tool, r.json.Catalog)
			}
			if want := fmt.Sprintf("\n%d passed, %d failed, %d skipped\n", s.Pass, s.Fail, s.Skip); !strings.HasSuffix(r.stdout, want) {
				t.Errorf("text report lacks its closing summary line:\n%s", r.stdout)
			}
		})
	}
}

func TestConformRedactsSecrets(t *testing.T) {
	tests := []struct {
		mode     string
		wantFail []string
	}{
		{"leaky-log", []string{"no-secret-in-output"}},
		{"leaky-crash", []string{"no-secret-in-output", "reuse-session"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			secrets := filepath.Join(t.TempDir(), "secrets")
			r := conform(t, []string{"-only", "no-secret-in-output,reuse-session"}, tt.mode, secrets)
			if r.code != 1 {
				t.Fatalf("exit status = %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			if diff := cmp.Diff(tt.wantFail, r.json.byStatus("fail")); diff != "" {
				t.Errorf("failing checks (-want +got):\n%s", diff)
			}
			b, err := os.ReadFile(secrets)
			if err != nil {
				t.Fatal(err)
			}
			creds := strings.Fields(string(b))
			if len(creds) < 6 {
				t.Fatalf("the adapter recorded %d credentials, want 3 per run", len(creds))
			}
			outputs := map[string]string{"stdout": r.stdout, "stderr": r.stderr, "JSON": string(r.jsonRaw), "JUnit": string(r.junitRaw)}
			for name, out := range outputs {
				for _, c := range creds {
					if strings.Contains(out, c[:5]) {
						t.Errorf("%s report shows a secret or its 5-character prefix %q", name, c[:5])
					}
				}
			}
		})
	}
}

func TestConformBaseline(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "baseline")
	os.WriteFile(base, []byte("# known failures\nrelogin-after-idle-expiry\nno-stale-session  # still open\nreuse-session\n"), 0o600)
	r := conform(t, []string{"-baseline", base, "-only", "relogin-after-idle-expiry,no-stale-session,reuse-session,relogin-after-server-ended-session"}, "no-relogin")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1 for the failure outside the baseline", r.code)
	}
	if diff := cmp.Diff([]string{"relogin-after-idle-expiry", "no-stale-session"}, r.json.byStatus("known")); diff != "" {
		t.Errorf("known checks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"relogin-after-server-ended-session"}, r.json.byStatus("fail")); diff != "" {
		t.Errorf("failing checks (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"reuse-session"}, r.json.Summary.Fixed); diff != "" {
		t.Errorf("fixed (-want +got):\n%s", diff)
	}
	if r.json.Summary.Known != 2 {
		t.Errorf("summary known = %d, want 2", r.json.Summary.Known)
	}

	// With every failure in the baseline the run passes.
	os.WriteFile(base, []byte("relogin-after-idle-expiry\nrelogin-after-server-ended-session\n"), 0o600)
	r = conform(t, []string{"-baseline", base, "-only", "relogin-after-idle-expiry,relogin-after-server-ended-session"}, "no-relogin")
	if r.code != 0 {
		t.Errorf("exit status with every failure known = %d, want 0\n%s", r.code, r.stdout)
	}
}

func TestConformSetupErrors(t *testing.T) {
	dir := t.TempDir()
	badBase := filepath.Join(dir, "bad")
	os.WriteFile(badBase, []byte("relogin-after-idle-expiry\nno-such-check\n"), 0o600)
	tests := []struct {
		name       string
		flags      []string
		mode       string
		wantStderr string
	}{
		{"no command", nil, "", "no adapter command"},
		{"bad flag", []string{"-nope"}, "good", "flag provided but not defined: -nope"},
		{"zero timeout", []string{"-timeout", "0s"}, "good", "-timeout must be positive"},
		{"v3 adapter", nil, "v3", `the adapter speaks API "v3"`},
		{"protocol 2", nil, "proto2", "speaks protocol 2"},
		{"refused hello", nil, "refuse", "refused hello"},
		{"hello never answered", []string{"-timeout", "300ms"}, "hang-hello", "no answer to request 0"},
		{"unknown only", []string{"-only", "relogin"}, "good", `unknown check "relogin"`},
		{"passive only", []string{"-only", "audit-login-storm"}, "good", "passive check"},
		{"nothing selected", []string{"-skip", strings.Join(activeIDs(), ",")}, "good", "no check selected"},
		{"unknown baseline id", []string{"-baseline", badBase}, "good", `line 2: unknown check id "no-such-check"`},
		{"missing baseline", []string{"-baseline", filepath.Join(dir, "none")}, "good", "no such file"},
		{"unwritable report", []string{"-only", "reuse-session", "-json", filepath.Join(dir, "no", "dir", "r.json")}, "good", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := slices.Clone(tt.flags)
			if tt.mode != "" {
				args = append(append(args, "--"), adaptertest.Command(tt.mode)...)
			}
			var stdout, stderr bytes.Buffer
			if code := runConform(t.Context(), args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status = %d, want 2\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := runConform(t.Context(), []string{"--", "/nonexistent/adapter"}, &stdout, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "the adapter could not be started") {
		t.Errorf("missing adapter: exit %d, stderr %q; want 2 and a clear message", code, stderr.String())
	}
}

func TestConformRunTimeout(t *testing.T) {
	// Long enough for the probe, even under the race detector.
	r := conform(t, []string{"-run-timeout", "8s", "-timeout", "1m"}, "hang")
	if r.code != 1 {
		t.Fatalf("exit status = %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	if diff := cmp.Diff(activeIDs(), r.json.byStatus("fail")); diff != "" {
		t.Errorf("failing checks (-want +got):\n%s", diff)
	}
}

func TestConformList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runConform(context.Background(), []string{"-list"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status = %d, want 0: %s", code, stderr.String())
	}
	lines := strings.Split(stdout.String(), "\n")
	for _, c := range conformance.Checks() {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, c.ID+" ") })
		if i < 0 {
			t.Errorf("-list lacks %s", c.ID)
			continue
		}
		if !strings.Contains(lines[i], string(c.Level)) || !strings.Contains(lines[i], c.Reason) {
			t.Errorf("-list line for %s = %q, want its level and reason", c.ID, lines[i])
		}
	}
}
