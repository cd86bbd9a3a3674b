package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/google/go-cmp/cmp"
)

var catalog = []conformance.Check{
	{ID: "relogin-after-expiry", Level: conformance.MUST, Reason: "re-login after idle expiry", Source: "BILL docs"},
	{ID: "no-secret-in-url", Level: conformance.MUST, Reason: "no secret in a URL", Source: "ASVS 5.0 14.2.1", Aliases: []string{"url-leak"}},
	{ID: "single-login", Level: conformance.SHOULD, Reason: "one login for many calls", Source: "BILL docs"},
	{ID: "logout-on-close", Level: conformance.SHOULD, Reason: "log out on close", Source: "BILL docs"},
}

func result(i int, st conformance.Status, details ...string) conformance.Result {
	return conformance.Result{Check: catalog[i], Status: st, Details: details}
}

func TestRedact(t *testing.T) {
	r := NewRedactor(
		Secret{"password", "Pw/secret value+1"},
		Secret{"devKey", "DEVKEY0123456789"},
		Secret{"sessionId", "abc"},
	)
	tests := []struct {
		name, in, want string
	}{
		{"raw", "pw=Pw/secret value+1;", "pw=[REDACTED:password];"},
		{"query escaped", "password=Pw%2Fsecret+value%2B1&x", "password=[REDACTED:password]&x"},
		{"path escaped", "/Pw%2Fsecret%20value+1/", "/[REDACTED:password]/"},
		{"five-character prefix", "key starts DEVKE…", "key starts [REDACTED:devKey]…"},
		{"longer prefix", "DEVKEY01234-other", "[REDACTED:devKey]-other"},
		{"four characters are not a prefix", "DEVK is fine", "DEVK is fine"},
		{"short secret whole", "sid abc and ab", "sid [REDACTED:sessionId] and ab"},
		{"twice", "DEVKEY0123456789 DEVKEY0123456789", "[REDACTED:devKey] [REDACTED:devKey]"},
		{"clean", "nothing here", "nothing here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	var nilR *Redactor
	if got := nilR.Redact("DEVKEY0123456789"); got != "DEVKEY0123456789" {
		t.Errorf("nil Redactor changed the text: %q", got)
	}
}

func TestParseBaseline(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{"ids and comments", "# known\nsingle-login\n\n  relogin-after-expiry  # ticket\n", []string{"single-login", "relogin-after-expiry"}, ""},
		{"alias", "url-leak\nno-secret-in-url\n", []string{"no-secret-in-url"}, ""},
		{"empty", "# nothing\n", nil, ""},
		{"unknown id", "single-login\nsingle-logins\n", nil, `line 2: unknown check id "single-logins"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBaseline(strings.NewReader(tt.in), catalog)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseBaseline error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBaseline: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseBaseline (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyBaseline(t *testing.T) {
	results := []conformance.Result{
		result(0, conformance.Fail, "x"),
		result(1, conformance.Pass),
		result(2, conformance.Fail),
		result(3, conformance.Skip),
	}
	got, fixed := ApplyBaseline(results, []string{"logout-on-close", "no-secret-in-url", "relogin-after-expiry"})
	var statuses []conformance.Status
	for _, r := range got {
		statuses = append(statuses, r.Status)
	}
	want := []conformance.Status{conformance.Known, conformance.Pass, conformance.Fail, conformance.Skip}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"no-secret-in-url"}, fixed); diff != "" {
		t.Errorf("fixed (-want +got):\n%s", diff)
	}
	if results[0].Status != conformance.Fail {
		t.Errorf("ApplyBaseline changed its input")
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name    string
		results []conformance.Result
		strict  bool
		want    int
	}{
		{"all pass", []conformance.Result{result(0, conformance.Pass), result(2, conformance.Skip)}, false, 0},
		{"MUST fails", []conformance.Result{result(0, conformance.Fail)}, false, 1},
		{"SHOULD fails", []conformance.Result{result(0, conformance.Pass), result(2, conformance.Fail)}, false, 0},
		{"SHOULD fails, strict", []conformance.Result{result(2, conformance.Fail)}, true, 1},
		{"known MUST", []conformance.Result{result(0, conformance.Known)}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Results: tt.results, Strict: tt.strict}
			if got := r.ExitCode(); got != tt.want {
				t.Errorf("ExitCode() = %d, want %d", got, tt.want)
			}
		})
	}
}

func sample() *Report {
	return &Report{
		Tool:    "fakebill 9.9.9",
		Catalog: "7",
		Results: []conformance.Result{
			result(0, conformance.Fail, "password Pw-secret-1 sent\x00 twice\x1b[0m", "second\nline"),
			result(1, conformance.Pass),
			result(2, conformance.Fail, "3 logins", "expected: one login for many calls", "source: BILL docs"),
			result(3, conformance.Known, "no Logout"),
		},
		Fixed:    []string{"no-secret-in-url"},
		Redactor: NewRedactor(Secret{"password", "Pw-secret-1"}),
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	rep := sample()
	rep.Results = append(rep.Results, result(3, conformance.Skip, "skipped: Close does nothing worth checking"))
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	want := "FAIL  MUST   relogin-after-expiry\n" +
		"PASS  MUST   no-secret-in-url\n" +
		"FAIL  SHOULD single-login (not enforced; -strict enforces it)\n" +
		"KNOWN SHOULD logout-on-close\n" +
		"SKIP  SHOULD logout-on-close (Close does nothing worth checking)\n" +
		"\n--- FAIL relogin-after-expiry (MUST)\n" +
		"    reason: re-login after idle expiry\n" +
		"    source: BILL docs\n" +
		"    password [REDACTED:password] sent\x00 twice\x1b[0m\n" +
		"    second\n" +
		"    line\n" +
		"\n--- FAIL single-login (SHOULD)\n" +
		"    3 logins\n" +
		"    expected: one login for many calls\n" +
		"    source: BILL docs\n" +
		"\n--- KNOWN logout-on-close (SHOULD)\n" +
		"    reason: log out on close\n" +
		"    source: BILL docs\n" +
		"    no Logout\n" +
		"\nbaseline: 1 known failure(s) not counted\n" +
		"baseline: now passing, remove from the baseline: no-secret-in-url\n" +
		"1 passed, 2 failed, 1 skipped\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteText (-want +got):\n%s", diff)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("Pw-se")) {
		t.Errorf("JSON report holds the secret:\n%s", buf.Bytes())
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	want := map[string]any{
		"version": 1.0,
		"tool":    "fakebill 9.9.9",
		"catalog": "7",
		"checks": []any{
			map[string]any{"id": "relogin-after-expiry", "level": "MUST", "status": "fail", "reason": "re-login after idle expiry", "source": "BILL docs",
				"details": []any{"password [REDACTED:password] sent\x00 twice\x1b[0m", "second\nline"}},
			map[string]any{"id": "no-secret-in-url", "level": "MUST", "status": "pass", "reason": "no secret in a URL", "source": "ASVS 5.0 14.2.1", "details": []any{}},
			map[string]any{"id": "single-login", "level": "SHOULD", "status": "fail", "reason": "one login for many calls", "source": "BILL docs", "details": []any{"3 logins", "expected: one login for many calls", "source: BILL docs"}},
			map[string]any{"id": "logout-on-close", "level": "SHOULD", "status": "known", "reason": "log out on close", "source": "BILL docs", "details": []any{"no Logout"}},
		},
		"summary": map[string]any{"pass": 1.0, "fail": 2.0, "skip": 0.0, "known": 1.0, "fixed": []any{"no-secret-in-url"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON report (-want +got):\n%s", diff)
	}
}

// junitDoc is the shape CI systems read from a JUnit file.
type junitDoc struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Skipped  int    `xml:"skipped,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "lenient", true: "strict"}[strict], func(t *testing.T) {
			rep := sample()
			rep.Strict = strict
			var buf bytes.Buffer
			if err := rep.WriteJUnit(&buf); err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsAny(buf.Bytes(), "\x00\x1b") {
				t.Errorf("JUnit report holds characters XML 1.0 forbids:\n%q", buf.Bytes())
			}
			if bytes.Contains(buf.Bytes(), []byte("Pw-se")) {
				t.Errorf("JUnit report holds the secret")
			}
			var doc junitDoc
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("JUnit report does not parse: %v\n%s", err, buf.Bytes())
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("got %d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			type outcome struct{ Name, Kind string }
			var got []outcome
			for _, c := range s.Cases {
				kind := "pass"
				switch {
				case c.Failure != nil:
					kind = "failure"
				case c.Skipped != nil:
					kind = "skipped"
				}
				got = append(got, outcome{c.Name, kind})
			}
			should := "skipped"
			if strict {
				should = "failure"
			}
			want := []outcome{
				{"relogin-after-expiry", "failure"},
				{"no-secret-in-url", "pass"},
				{"single-login", should},
				{"logout-on-close", "skipped"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("testcases (-want +got):\n%s", diff)
			}
			wantFail, wantSkip := 1, 2
			if strict {
				wantFail, wantSkip = 2, 1
			}
			if s.Tests != 4 || s.Failures != wantFail || s.Skipped != wantSkip {
				t.Errorf("suite counts = %d tests, %d failures, %d skipped; want 4, %d, %d", s.Tests, s.Failures, s.Skipped, wantFail, wantSkip)
			}
			if f := s.Cases[0].Failure; f == nil || !strings.Contains(f.Text, "sent twice[0m") {
				t.Errorf("failure text lacks the stripped details: %+v", f)
			}
		})
	}
}

// FuzzRedact checks the promise reports rely on: after redaction no
// secret's first five characters remain, raw or escaped.
func FuzzRedact(f *testing.F) {
	f.Add("login pw=Pw/secret value+1 and Pw%2Fsec", "Pw/secret value+1")
	f.Add("aaaaaaaaab aaaab", "aaaaab")
	f.Add("%41%42%43%44%45", "ABCDE")
	f.Fuzz(func(t *testing.T, text, secret string) {
		if len(secret) < minPrefix || strings.Contains("[REDACTED:password]", secret[:minPrefix]) || strings.Contains(secret, "\x00") {
			return
		}
		r := NewRedactor(Secret{"password", secret})
		got := r.Redact(text)
		for _, f := range r.forms {
			// Markers may only add text that is not a secret's start.
			if strings.Contains(strings.ReplaceAll(got, "[REDACTED:password]", "\x00"), f.text[:min(minPrefix, len(f.text))]) {
				t.Fatalf("Redact(%q) = %q still holds %q", text, got, f.text[:minPrefix])
			}
		}
	})
}
