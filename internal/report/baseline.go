package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/fakebill/toolkit/conformance"
)

// ParseBaseline reads a baseline: check ids one per line, blank lines and
// "#" comments (whole-line or trailing) ignored. An alias is read as the
// id it stands for. An id the catalog does not know is an error, so a typo
// cannot silently excuse a failure.
func ParseBaseline(r io.Reader, catalog []conformance.Check) ([]string, error) {
	canon := make(map[string]string)
	for _, c := range catalog {
		canon[c.ID] = c.ID
		for _, a := range c.Aliases {
			canon[a] = c.ID
		}
	}
	var ids []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		id, ok := canon[line]
		if !ok {
			return nil, fmt.Errorf("baseline line %d: unknown check id %q", n, line)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return ids, nil
}

// ReadBaseline is [ParseBaseline] on the file at path.
func ReadBaseline(path string, catalog []conformance.Check) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	ids, err := ParseBaseline(f, catalog)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

// ApplyBaseline marks each failing result whose id is in baseline as
// [conformance.Known], and returns, in baseline order, the baseline ids
// whose checks now pass. Skipped and unselected checks are neither.
func ApplyBaseline(results []conformance.Result, baseline []string) (out []conformance.Result, fixed []string) {
	out = slices.Clone(results)
	for i, r := range out {
		if !slices.Contains(baseline, r.ID) {
			continue
		}
		if r.Status == conformance.Fail {
			out[i].Status = conformance.Known
		}
	}
	for _, id := range baseline {
		i := slices.IndexFunc(out, func(r conformance.Result) bool { return r.ID == id })
		if i >= 0 && out[i].Status == conformance.Pass {
			fixed = append(fixed, id)
		}
	}
	return out, fixed
}
