// Package report writes the outcome of a conformance or audit run as text,
// JSON and JUnit XML, applies baselines, and redacts secrets from all of it.
package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fakebill/toolkit/conformance"
)

// FormatVersion is the "version" field of the JSON report.
const FormatVersion = 1

// Report is one run's outcome, ready to write. Every writer redacts every
// string it prints with Redactor.
type Report struct {
	Tool     string // "fakebill 0.1.0"
	Catalog  string // conformance.CatalogVersion
	Suite    string // "conform" or "audit"; names the JUnit suite
	Strict   bool   // a failed SHOULD check is enforced
	Results  []conformance.Result
	Fixed    []string // baseline ids whose checks now pass
	Redactor *Redactor
}

// Summary counts results by status.
type Summary struct {
	Pass  int      `json:"pass"`
	Fail  int      `json:"fail"`
	Skip  int      `json:"skip"`
	Known int      `json:"known"`
	Fixed []string `json:"fixed"`
}

// Summary counts r's results.
func (r *Report) Summary() Summary {
	s := Summary{Fixed: append([]string{}, r.Fixed...)}
	for _, res := range r.Results {
		switch res.Status {
		case conformance.Pass:
			s.Pass++
		case conformance.Fail:
			s.Fail++
		case conformance.Skip:
			s.Skip++
		case conformance.Known:
			s.Known++
		}
	}
	return s
}

// Enforced reports whether a failure of res fails the run: a MUST check,
// or any check under Strict.
func (r *Report) Enforced(res conformance.Result) bool {
	return res.Level == conformance.MUST || r.Strict
}

// ExitCode is the run's exit status when something was judged: 1 if an
// enforced check failed, else 0. Known failures do not count.
func (r *Report) ExitCode() int {
	for _, res := range r.Results {
		if res.Status == conformance.Fail && r.Enforced(res) {
			return 1
		}
	}
	return 0
}

func (r *Report) results() []conformance.Result {
	return r.Redactor.Results(r.Results)
}

// WriteText writes one line per check (status, level, id), then the
// details of each failure, then a closing line "N passed, N failed, N
// skipped".
func (r *Report) WriteText(w io.Writer) error {
	results := r.results()
	var b strings.Builder
	for _, res := range results {
		fmt.Fprintf(&b, "%-5s %-6s %s", strings.ToUpper(string(res.Status)), res.Level, res.ID)
		switch {
		case res.Status == conformance.Fail && !r.Enforced(res):
			b.WriteString(" (not enforced; -strict enforces it)")
		case res.Status == conformance.Skip && len(res.Details) > 0:
			fmt.Fprintf(&b, " (%s)", strings.TrimPrefix(res.Details[0], "skipped: "))
		}
		b.WriteByte('\n')
	}
	for _, res := range results {
		if res.Status != conformance.Fail && res.Status != conformance.Known {
			continue
		}
		fmt.Fprintf(&b, "\n--- %s %s (%s)\n", strings.ToUpper(string(res.Status)), res.ID, res.Level)
		// The runner may already end the details with these lines.
		if !slices.Contains(res.Details, "expected: "+res.Reason) {
			fmt.Fprintf(&b, "    reason: %s\n", res.Reason)
		}
		if res.Source != "" && !slices.Contains(res.Details, "source: "+res.Source) {
			fmt.Fprintf(&b, "    source: %s\n", res.Source)
		}
		for _, d := range res.Details {
			for line := range strings.SplitSeq(strings.TrimRight(d, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", line)
			}
		}
	}
	s := r.Summary()
	b.WriteByte('\n')
	if s.Known > 0 {
		fmt.Fprintf(&b, "baseline: %d known failure(s) not counted\n", s.Known)
	}
	if len(s.Fixed) > 0 {
		fmt.Fprintf(&b, "baseline: now passing, remove from the baseline: %s\n", strings.Join(s.Fixed, ", "))
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", s.Pass, s.Fail, s.Skip)
	_, err := io.WriteString(w, b.String())
	return err
}

type jsonReport struct {
	Version int         `json:"version"`
	Tool    string      `json:"tool"`
	Catalog string      `json:"catalog"`
	Checks  []jsonCheck `json:"checks"`
	Summary Summary     `json:"summary"`
}

type jsonCheck struct {
	ID      string             `json:"id"`
	Level   conformance.Level  `json:"level"`
	Status  conformance.Status `json:"status"`
	Reason  string             `json:"reason"`
	Source  string             `json:"source"`
	Details []string           `json:"details"`
}

// WriteJSON writes the JSON report:
//
//	{"version":1,"tool":"fakebill X","catalog":"N",
//	 "checks":[{"id","level","status","reason","source","details":[]}],
//	 "summary":{"pass","fail","skip","known","fixed":[]}}
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		Version: FormatVersion,
		Tool:    r.Tool,
		Catalog: r.Catalog,
		Checks:  []jsonCheck{},
		Summary: r.Summary(),
	}
	for _, res := range r.results() {
		out.Checks = append(out.Checks, jsonCheck{
			ID: res.ID, Level: res.Level, Status: res.Status,
			Reason: res.Reason, Source: res.Source,
			Details: append([]string{}, res.Details...),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes a JUnit XML report with one testcase per check. Known
// failures and unenforced SHOULD failures are written as skipped, with the
// reason in the message. Characters XML 1.0 forbids are stripped.
func (r *Report) WriteJUnit(w io.Writer) error {
	suite := r.Suite
	if suite == "" {
		suite = "conform"
	}
	s := junitSuite{
		Name: "fakebill " + suite,
		Properties: []junitProperty{
			{Name: "tool", Value: xmlText(r.Tool)},
			{Name: "catalog", Value: xmlText(r.Catalog)},
		},
	}
	for _, res := range r.results() {
		c := junitCase{Name: xmlText(res.ID), Classname: "fakebill." + suite}
		msg := xmlText(fmt.Sprintf("%s: %s", res.Level, res.Reason))
		switch {
		case res.Status == conformance.Fail && r.Enforced(res):
			c.Failure = &junitFailure{Message: msg, Type: string(res.Level), Text: xmlText(failureText(res))}
			s.Failures++
		case res.Status == conformance.Fail:
			why := "SHOULD failure, not enforced without -strict: " + strings.Join(res.Details, "; ")
			c.Skipped = &junitSkipped{Message: xmlText(why)}
			s.Skipped++
		case res.Status == conformance.Known:
			why := "known failure, listed in the baseline: " + strings.Join(res.Details, "; ")
			c.Skipped = &junitSkipped{Message: xmlText(why)}
			s.Skipped++
		case res.Status == conformance.Skip:
			c.Skipped = &junitSkipped{Message: xmlText(skipMessage(res))}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
	}
	out := junitSuites{
		Name: s.Name, Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped,
		Suites: []junitSuite{s},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func failureText(res conformance.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)\nreason: %s\n", res.ID, res.Level, res.Reason)
	if res.Source != "" {
		fmt.Fprintf(&b, "source: %s\n", res.Source)
	}
	for _, d := range res.Details {
		b.WriteString(d)
		b.WriteByte('\n')
	}
	return b.String()
}

func skipMessage(res conformance.Result) string {
	if len(res.Details) > 0 {
		return strings.Join(res.Details, "; ")
	}
	return "skipped"
}

// xmlText drops what XML 1.0 cannot carry: invalid UTF-8 and the
// characters outside its Char production.
func xmlText(s string) string {
	ok := true
	for _, c := range s {
		if !xmlChar(c) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if c == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				continue
			}
		}
		if xmlChar(c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func xmlChar(c rune) bool {
	return c == 0x09 || c == 0x0A || c == 0x0D ||
		(c >= 0x20 && c <= 0xD7FF) ||
		(c >= 0xE000 && c <= 0xFFFD) ||
		(c >= 0x10000 && c <= 0x10FFFF)
}
