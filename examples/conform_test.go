package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fakebill/toolkit/conformance"
)

// jsonReport is the part of `fakebill conform -json` these tests read.
type jsonReport struct {
	Version int    `json:"version"`
	Tool    string `json:"tool"`
	Catalog string `json:"catalog"`
	Checks  []struct {
		ID     string `json:"id"`
		Level  string `json:"level"`
		Status string `json:"status"`
	} `json:"checks"`
}

// junitReport is the part of `fakebill conform -junit` these tests read.
type junitReport struct {
	Cases []struct {
		Name    string    `xml:"name,attr"`
		Failure *struct{} `xml:"failure"`
		Skipped *struct{} `xml:"skipped"`
	} `xml:"testcase"`
	Suites []junitReport `xml:"testsuite"`
}

func (r junitReport) all() []string {
	var names []string
	for _, c := range r.Cases {
		status := "pass"
		switch {
		case c.Failure != nil:
			status = "fail"
		case c.Skipped != nil:
			status = "skip"
		}
		names = append(names, status+" "+c.Name)
	}
	for _, s := range r.Suites {
		names = append(names, s.all()...)
	}
	return names
}

// TestConform runs `fakebill conform` against every example adapter, as
// a CI job would, and checks the exit status and exactly which checks
// failed and which were skipped.
func TestConform(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole catalog once per adapter; skipped with -short")
	}
	brokenFails := []string{
		"credentials-only-on-login",
		"login-failure-is-auth-error",
		"no-secret-in-output",
		"no-secret-in-url",
		"no-stale-session",
		"relogin-after-idle-expiry",
		"relogin-after-server-ended-session",
		"replay-after-expiry-same-request",
	}
	sequential := []string{"single-login-on-concurrent-expiry"}
	tests := []struct {
		adapter   exampleAdapter
		wantExit  int
		wantFail  []string
		wantSkips []string
	}{
		{goodAdapters[0], 0, nil, nil},
		{goodAdapters[1], 0, nil, nil},
		{goodAdapters[2], 0, nil, sequential},
		{goodAdapters[3], 0, nil, nil},
		{brokenAdapter, 1, brokenFails, sequential},
	}
	bin := buildTool(t, "fakebill", "../cmd/fakebill")
	var active []string // the catalog checks conform runs
	for _, c := range conformance.Checks() {
		if !slices.Contains(c.Needs, conformance.CapPassive) {
			active = append(active, c.ID)
		}
	}
	for _, tt := range tests {
		t.Run(tt.adapter.name, func(t *testing.T) {
			t.Parallel()
			requireTools(t, tt.adapter.tools...)
			dir := t.TempDir()
			jsonFile, junitFile := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.xml")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			args := append([]string{"conform", "-json", jsonFile, "-junit", junitFile, "--"}, tt.adapter.command(t)...)
			cmd := exec.CommandContext(ctx, bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			exit := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("fakebill conform: %v", err)
			}
			if exit != tt.wantExit {
				t.Errorf("exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", exit, tt.wantExit, stdout.Bytes(), stderr.Bytes())
			}

			b, err := os.ReadFile(jsonFile)
			if err != nil {
				t.Fatalf("JSON report: %v", err)
			}
			var rep jsonReport
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatalf("JSON report: %v\n%s", err, b)
			}
			var ids, fails, skips []string
			for _, c := range rep.Checks {
				ids = append(ids, c.ID)
				switch c.Status {
				case "fail":
					fails = append(fails, c.ID)
				case "skip":
					skips = append(skips, c.ID)
				}
			}
			slices.Sort(fails)
			if diff := cmp.Diff(tt.wantFail, fails); diff != "" {
				t.Errorf("failing checks (-want +got):\n%s\nstdout:\n%s", diff, stdout.Bytes())
			}
			if diff := cmp.Diff(tt.wantSkips, skips); diff != "" {
				t.Errorf("skipped checks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(active, ids); diff != "" {
				t.Errorf("checks in the report (-want +got):\n%s", diff)
			}
			if rep.Version != 1 || rep.Catalog != conformance.CatalogVersion || !strings.HasPrefix(rep.Tool, "fakebill ") {
				t.Errorf("report version, catalog, tool = %d, %q, %q; want 1, %q, fakebill X", rep.Version, rep.Catalog, rep.Tool, conformance.CatalogVersion)
			}

			// The JUnit report says the same, one test case per check.
			b, err = os.ReadFile(junitFile)
			if err != nil {
				t.Fatalf("JUnit report: %v", err)
			}
			var ju junitReport
			if err := xml.Unmarshal(b, &ju); err != nil {
				t.Fatalf("JUnit report: %v", err)
			}
			var want []string
			for _, c := range rep.Checks {
				status := c.Status
				if status == "fail" && c.Level == "SHOULD" {
					status = "skip" // unenforced SHOULD failures are <skipped>
				}
				want = append(want, status+" "+c.ID)
			}
			got := ju.all()
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JUnit test cases (-want +got):\n%s", diff)
			}
		})
	}
}
