package conformance_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/conformance"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite docs/CHECKS.md from the catalog")

const checksDoc = "../docs/CHECKS.md"

// renderCatalog is docs/CHECKS.md: the catalog as a reader wants it.
func renderCatalog() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance checks\n\n")
	fmt.Fprintf(&b, "Catalog version %s. Generated from `conformance.Checks()` by\n", conformance.CatalogVersion)
	b.WriteString("`go test ./conformance -run TestChecksDoc -update`; do not edit by hand.\n\n")
	b.WriteString("Ids never change meaning; a renamed check keeps its old id as an alias.\n")
	b.WriteString("MUST checks fail a run; SHOULD checks fail it only under `-strict`.\n")
	b.WriteString("Checks that need `journal` are passive: `fakebill audit` judges them from\n")
	b.WriteString("recorded traffic, and `conform` and `conformance.Evaluate` do not run them.\n\n")
	b.WriteString("| id | level | needs | what a conformant client does | source |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, c := range conformance.Checks() {
		needs := make([]string, len(c.Needs))
		for i, n := range c.Needs {
			needs[i] = string(n)
		}
		id := "`" + c.ID + "`"
		if len(c.Aliases) > 0 {
			id += " (was " + strings.Join(c.Aliases, ", ") + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", id, c.Level, strings.Join(needs, ", "),
			strings.ReplaceAll(c.Reason, "|", `\|`), c.Source)
	}
	b.WriteString("\n## How each check runs\n\n")
	b.WriteString("Every active check starts a fresh fake with fresh random credentials\n")
	b.WriteString("(leaks recorded, not refused, except in `no-secret-in-url`), builds a\n")
	b.WriteString("fresh client, and closes it at the end. Reads go to `Crud/Read/Vendor.json`,\n")
	b.WriteString("whose fixture the client must return unchanged; creates to\n")
	b.WriteString("`Crud/Create/Vendor.json`. Time moves on the fake's clock, never by waiting.\n")
	for _, c := range conformance.Checks() {
		if c.Scenario != "" {
			fmt.Fprintf(&b, "\n### %s\n\n%s\n", c.ID, c.Scenario)
		}
	}
	return b.String()
}

func TestChecksDoc(t *testing.T) {
	want := renderCatalog()
	if *update {
		if err := os.WriteFile(checksDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(checksDoc)
	if err != nil {
		t.Fatalf("%v; run go test ./conformance -run TestChecksDoc -update", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("docs/CHECKS.md is stale; run go test ./conformance -run TestChecksDoc -update (-want +got):\n%s", diff)
	}
}

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestCatalogEntries(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range conformance.Checks() {
		t.Run(c.ID, func(t *testing.T) {
			if !kebab.MatchString(c.ID) {
				t.Errorf("id %q is not kebab-case", c.ID)
			}
			for _, id := range append([]string{c.ID}, c.Aliases...) {
				if seen[id] {
					t.Errorf("id %q is used twice", id)
				}
				seen[id] = true
			}
			if c.Level != conformance.MUST && c.Level != conformance.SHOULD {
				t.Errorf("level = %q, want MUST or SHOULD", c.Level)
			}
			if c.Reason == "" || strings.Contains(c.Reason, "\n") {
				t.Errorf("reason = %q, want one line", c.Reason)
			}
			if !strings.HasPrefix(c.Source, "BILL: ") && !strings.HasPrefix(c.Source, "OWASP ASVS 5.0 ") {
				t.Errorf("source = %q, want a BILL page or an OWASP ASVS 5.0 requirement", c.Source)
			}
			if len(c.Needs) == 0 {
				t.Errorf("needs is empty, want at least calls or journal")
			}
			if c.Needs[0] == conformance.CapCalls && c.Scenario == "" {
				t.Errorf("scenario is empty; an active check must say how it runs")
			}
		})
	}
}

// Checks hands out copies: a caller cannot change the catalog.
func TestChecksIsACopy(t *testing.T) {
	a := conformance.Checks()
	a[0].ID = "changed"
	a[0].Needs[0] = "changed"
	b := conformance.Checks()
	if b[0].ID == "changed" || b[0].Needs[0] == "changed" {
		t.Errorf("Checks()[0] = %+v after changing an earlier copy; want the catalog unchanged", b[0])
	}
}
