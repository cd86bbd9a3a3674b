package examples_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// yamlKeys returns the dotted paths of the mapping keys in a block-style
// YAML file, list items counted as "-". It understands only the subset the
// CI example uses, and fails on what it cannot read: tabs, odd indents, a
// line indented deeper than its parent allows.
func yamlKeys(t *testing.T, src string) []string {
	t.Helper()
	type level struct {
		indent int
		key    string
	}
	var stack []level
	var keys []string
	keyRE := regexp.MustCompile(`^(- )?([A-Za-z0-9_.-]+):( |$)`)
	block := -1 // indent of a "|" block scalar being skipped
	for i, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := len(line) - len(trimmed)
		if strings.Contains(line, "\t") {
			t.Fatalf("line %d: tab in YAML", i+1)
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if block >= 0 && indent > block {
			continue
		}
		block = -1
		if indent%2 != 0 {
			t.Fatalf("line %d: indent %d is odd", i+1, indent)
		}
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		m := keyRE.FindStringSubmatch(trimmed)
		if m == nil {
			if strings.HasPrefix(trimmed, "- ") {
				continue // a list item that is a plain value
			}
			t.Fatalf("line %d: %q is not a key", i+1, trimmed)
		}
		var path []string
		for _, l := range stack {
			path = append(path, l.key)
		}
		if m[1] != "" {
			path = append(path, "-")
			stack = append(stack, level{indent, "-"})
			indent += 2
		}
		path = append(path, m[2])
		keys = append(keys, strings.Join(path, "."))
		stack = append(stack, level{indent, m[2]})
		if strings.HasSuffix(trimmed, "|") {
			block = indent
		}
	}
	return keys
}

// TestCIExample checks the GitHub Actions example's shape: the keys a job
// needs where Actions looks for them, the conform command writing the
// JUnit report, and the reports published even when the checks fail.
func TestCIExample(t *testing.T) {
	b, err := os.ReadFile("ci/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	keys := yamlKeys(t, src)
	for _, want := range []string{
		"name", "on", "permissions.checks",
		"jobs.conformance.runs-on",
		"jobs.conformance.timeout-minutes",
		"jobs.conformance.steps.-.uses",
		"jobs.conformance.steps.-.run",
		"jobs.conformance.steps.-.with.path",
		"jobs.conformance.steps.-.with.reporter",
		"jobs.conformance.steps.-.if",
	} {
		if !slices.Contains(keys, want) {
			t.Errorf("no key %s in the CI example; keys: %q", want, keys)
		}
	}

	var uses []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:- )?uses: (\S+)@`).FindAllStringSubmatch(src, -1) {
		uses = append(uses, m[1])
	}
	want := []string{"actions/checkout", "actions/setup-go", "actions/setup-python",
		"actions/upload-artifact", "dorny/test-reporter"}
	if diff := cmp.Diff(want, uses); diff != "" {
		t.Errorf("actions used (-want +got):\n%s", diff)
	}
	for _, re := range []string{
		`(?m)^\s+run: fakebill conform -json report\.json -junit report\.xml -- \$ADAPTER$`,
		`(?m)^\s+run: go install github\.com/fakebill/toolkit/cmd/fakebill@`,
		`(?s)upload-artifact.*report\.xml`,
	} {
		if !regexp.MustCompile(re).MatchString(src) {
			t.Errorf("CI example does not match %s", re)
		}
	}
	if n := strings.Count(src, "if: ${{ !cancelled() }}"); n != 2 {
		t.Errorf("steps publishing whatever the outcome = %d, want 2 (artifact and test report)", n)
	}
}
