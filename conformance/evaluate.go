package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
)

// Sentinel errors a [*Failure] unwraps to, so that callers of [TestClient]
// can tell a MUST failure from a SHOULD one with errors.Is.
var (
	ErrMUST   = errors.New("conformance: a MUST check failed")
	ErrSHOULD = errors.New("conformance: a SHOULD check failed")
)

// Failure is one failed check, as [TestClient] returns it.
type Failure struct {
	ID      string
	Level   Level
	Reason  string
	Source  string
	Details []string // redacted; no secret ever appears here
}

// Error reports the check id and level, then the details, one per line.
func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance: %s (%s) failed", f.ID, f.Level)
	for _, d := range f.Details {
		b.WriteString("\n\t" + strings.ReplaceAll(d, "\n", "\n\t"))
	}
	return b.String()
}

// Unwrap returns [ErrMUST] or [ErrSHOULD].
func (f *Failure) Unwrap() error {
	if f.Level == MUST {
		return ErrMUST
	}
	return ErrSHOULD
}

// selectChecks returns the active checks opts selects, in catalog order.
func selectChecks(subject Subject, opts *Options) ([]*check, error) {
	if subject.New == nil {
		return nil, errors.New("conformance: Subject.New is nil")
	}
	switch subject.API {
	case "", "v2":
	case "v3":
		return nil, errors.New("conformance: API v3 is not supported yet; only v2 subjects can be checked")
	default:
		return nil, fmt.Errorf("conformance: unknown API %q; want \"v2\"", subject.API)
	}
	var only, skip []string
	if opts != nil {
		only, skip = opts.Only, opts.Skip
	}
	known := map[string]*check{}
	for i := range catalog {
		c := &catalog[i]
		known[c.ID] = c
		for _, a := range c.Aliases {
			known[a] = c
		}
	}
	resolve := func(ids []string, what string) (map[*check]bool, error) {
		set := map[*check]bool{}
		for _, id := range ids {
			c, ok := known[id]
			if !ok {
				return nil, fmt.Errorf("conformance: %s names unknown check %q", what, id)
			}
			if c.run == nil && what == "Only" {
				return nil, fmt.Errorf("conformance: %q is a passive check: audit judges it from recorded traffic", id)
			}
			set[c] = true
		}
		return set, nil
	}
	onlySet, err := resolve(only, "Only")
	if err != nil {
		return nil, err
	}
	skipSet, err := resolve(skip, "Skip")
	if err != nil {
		return nil, err
	}
	var out []*check
	for i := range catalog {
		c := &catalog[i]
		if c.run == nil || skipSet[c] || (len(onlySet) > 0 && !onlySet[c]) {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("conformance: no check selected")
	}
	return out, nil
}

// Evaluate runs the selected checks against subject and returns one Result
// per check, in catalog order. Each check gets a fresh fake on a loopback
// socket, fresh random credentials and a fresh client. Details are
// redacted: no credential or session id appears in them.
//
// Evaluate returns an error only when nothing can be judged: a subject
// without New, an API other than "v2", an unknown id in Only or Skip, or
// an empty selection. When ctx ends, the checks not yet run fail.
func Evaluate(ctx context.Context, subject Subject, opts *Options) ([]Result, error) {
	checks, err := selectChecks(subject, opts)
	if err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(checks))
	for _, c := range checks {
		if ctx.Err() != nil {
			results = append(results, Result{Check: checkWithNeeds(c), Status: Fail,
				Details: []string{"not run: " + ctx.Err().Error()}})
			continue
		}
		results = append(results, runCheck(ctx, c, subject, opts, false))
	}
	return results, nil
}

// TestClient runs every selected check and returns the failures joined,
// each a [*Failure] that wraps [ErrMUST] or [ErrSHOULD] by its level, nil
// if all passed. Skipped checks are not failures. Unlike Run it reports
// failed SHOULD checks whatever opts.Strict says: filter them out with
// errors.Is if they are not to count.
// It returns Evaluate's error unchanged when nothing could be judged.
func TestClient(subject Subject, opts *Options) error {
	results, err := Evaluate(context.Background(), subject, opts)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range results {
		if f := failure(r); f != nil {
			errs = append(errs, f)
		}
	}
	return errors.Join(errs...)
}

func failure(r Result) *Failure {
	if r.Status != Fail {
		return nil
	}
	return &Failure{ID: r.ID, Level: r.Level, Reason: r.Reason, Source: r.Source, Details: r.Details}
}

// Run runs each selected check as a subtest of t named by its id. With
// opts.Synctest each check runs inside its own testing/synctest bubble on
// an in-memory fake that reads time.Now, so a client's own timers run in
// virtual time; the subject must then create nothing outside the bubble
// that the client's calls wait on.
//
// A failed MUST check fails its subtest. A failed SHOULD check fails it
// only with opts.Strict; otherwise the subtest is skipped with the
// failure's details, so that "go test -v" still shows them.
func Run(t *testing.T, subject Subject, opts *Options) {
	t.Helper()
	checks, err := selectChecks(subject, opts)
	if err != nil {
		t.Fatal(err)
	}
	virtual := opts != nil && opts.Synctest
	for _, c := range checks {
		t.Run(c.ID, func(t *testing.T) {
			var res Result
			if virtual {
				synctest.Test(t, func(t *testing.T) {
					res = runCheck(t.Context(), c, subject, opts, true)
				})
			} else {
				res = runCheck(t.Context(), c, subject, opts, false)
			}
			switch {
			case res.Status == Skip:
				t.Skip(strings.Join(res.Details, "\n"))
			case res.Status == Fail && res.Level == SHOULD && !opts.strict():
				t.Skip(failure(res).Error() + "\n(not enforced: a SHOULD check; set Options.Strict to enforce it)")
			case res.Status == Fail:
				// The report is the toolkit's, not a line of the caller's
				// test: written without a file:line prefix.
				fmt.Fprintln(t.Output(), failure(res).Error())
				t.Fail()
			}
		})
	}
}
