package conformance

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// Default audit thresholds.
const (
	DefaultLoginStormLogins = 3
	DefaultLoginStormWindow = 5 * time.Minute
	DefaultRetryLoopRepeats = 5
)

// maxFindings caps the details of one audit check; the rest are counted.
const maxFindings = 10

// AuditOptions selects the passive checks and tunes their thresholds. A
// nil *AuditOptions means every passive check with the defaults.
type AuditOptions struct {
	Only, Skip []string // check ids, as for Evaluate

	// LoginStormLogins is the most logins one account may make within
	// LoginStormWindow of server time; more is a storm. 0 means
	// DefaultLoginStormLogins.
	LoginStormLogins int
	// LoginStormWindow is the span of server time logins are counted
	// over; 0 means DefaultLoginStormWindow.
	LoginStormWindow time.Duration
	// RetryLoopRepeats is how often in a row an account may send the same
	// request (operation and data) when each is answered by an error;
	// more is a retry loop. 0 means DefaultRetryLoopRepeats.
	RetryLoopRepeats int
	// StaleResends is how many requests per dead session may still arrive
	// after the server refused or ended it, when each of them is refused
	// with BDC_1109 too: a concurrent client's workers can send the old
	// session before the one that met the refusal has told them, and the
	// server cannot tell that from a client that keeps a dead session.
	// 0, the default, excuses as many as the account ever had requests in
	// flight at once at the server, less one, so a sequential client is
	// excused none; a negative value excuses none.
	StaleResends int
}

func (o *AuditOptions) staleResends() int {
	if o == nil {
		return 0
	}
	return o.StaleResends
}

func (o *AuditOptions) thresholds() (logins int, window time.Duration, repeats int, err error) {
	logins, window, repeats = DefaultLoginStormLogins, DefaultLoginStormWindow, DefaultRetryLoopRepeats
	if o == nil {
		return logins, window, repeats, nil
	}
	if o.LoginStormLogins < 0 || o.LoginStormWindow < 0 || o.RetryLoopRepeats < 0 {
		return 0, 0, 0, errors.New("conformance: audit thresholds must not be negative")
	}
	if o.LoginStormLogins > 0 {
		logins = o.LoginStormLogins
	}
	if o.LoginStormWindow > 0 {
		window = o.LoginStormWindow
	}
	if o.RetryLoopRepeats > 0 {
		repeats = o.RetryLoopRepeats
	}
	return logins, window, repeats, nil
}

// Audit judges recorded traffic: one Result per selected passive check of
// the catalog, in catalog order. It judges what it is given: the caller
// makes sure the journal is whole (no evicted entries, no gap in seq).
//
// Two requests on one session count as concurrent, not stale, when the
// second arrived (seq) before the first completed (done_seq). That needs
// done_seq on the scale of seq: the latest seq that had arrived when the
// request completed.
//
// Audit returns an error only when nothing can be judged: an unknown id
// in Only or Skip, an active check in Only, negative thresholds, or an
// empty selection.
func Audit(entries []fakebill.Entry, opts *AuditOptions) ([]Result, error) {
	logins, window, repeats, err := opts.thresholds()
	if err != nil {
		return nil, err
	}
	resends := opts.staleResends()
	checks, err := selectPassive(opts)
	if err != nil {
		return nil, err
	}
	es := slices.Clone(entries)
	slices.SortFunc(es, func(a, b fakebill.Entry) int { return cmp.Compare(a.Seq, b.Seq) })

	judges := map[string]func([]fakebill.Entry) []string{
		"audit-secret-in-url":       auditSecretInURL,
		"audit-stale-session-reuse": func(es []fakebill.Entry) []string { return auditStaleSessionReuse(es, resends) },
		"audit-login-storm":         func(es []fakebill.Entry) []string { return auditLoginStorm(es, logins, window) },
		"audit-retry-loop":          func(es []fakebill.Entry) []string { return auditRetryLoop(es, repeats) },
	}
	var results []Result
	for _, c := range checks {
		judge := judges[c.ID]
		if judge == nil {
			// TODO(fakebill): a passive check the audit cannot judge yet.
			results = append(results, Result{Check: c, Status: Skip, Details: []string{"skipped: this release cannot judge it"}})
			continue
		}
		res := Result{Check: c, Status: Pass}
		if found := judge(es); len(found) > 0 {
			res.Status = Fail
			res.Details = append(capFindings(found), "expected: "+c.Reason, "source: "+c.Source)
		}
		results = append(results, res)
	}
	return results, nil
}

// selectPassive returns the passive checks opts selects, in catalog order.
func selectPassive(opts *AuditOptions) ([]Check, error) {
	var only, skip []string
	if opts != nil {
		only, skip = opts.Only, opts.Skip
	}
	all := Checks()
	resolve := func(ids []string, what string) (map[string]bool, error) {
		set := map[string]bool{}
		for _, id := range ids {
			i := slices.IndexFunc(all, func(c Check) bool { return c.ID == id || slices.Contains(c.Aliases, id) })
			if i < 0 {
				return nil, fmt.Errorf("conformance: %s names unknown check %q", what, id)
			}
			if !slices.Contains(all[i].Needs, CapPassive) && what == "Only" {
				return nil, fmt.Errorf("conformance: %q is an active check: conform judges it by driving a client", id)
			}
			set[all[i].ID] = true
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
	var out []Check
	for _, c := range all {
		if !slices.Contains(c.Needs, CapPassive) || skipSet[c.ID] || (len(onlySet) > 0 && !onlySet[c.ID]) {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("conformance: no check selected")
	}
	return out, nil
}

func capFindings(found []string) []string {
	if len(found) <= maxFindings {
		return found
	}
	return append(found[:maxFindings:maxFindings], fmt.Sprintf("and %d more", len(found)-maxFindings))
}

// describe names an entry in a finding: seq, method, the journaled path
// (already redacted by the fake), and the answer.
func describe(e fakebill.Entry) string {
	answer := "ok"
	if e.Code != "" {
		answer = e.Code
	} else if e.Status >= 400 {
		answer = fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("seq %d %s %s (%s)", e.Seq, e.Method, e.Path, answer)
}

func auditSecretInURL(es []fakebill.Entry) []string {
	var found []string
	for _, e := range es {
		if len(e.Leaks) == 0 {
			continue
		}
		var where []string
		for _, l := range e.Leaks {
			where = append(where, l.Field+" in the "+l.Where)
		}
		found = append(found, fmt.Sprintf("%s: %s", describe(e), strings.Join(where, ", ")))
	}
	return found
}

// auditStaleSessionReuse finds requests that sent a session after the
// server had answered BDC_1109 for it, or after it was logged out. The
// first excused resends of each session that were themselves refused with
// BDC_1109 do not count; excused 0 means the account's observed
// concurrency less one (see [AuditOptions.StaleResends]).
func auditStaleSessionReuse(es []fakebill.Entry, excused int) []string {
	var inFlight map[string]int
	if excused == 0 {
		inFlight = maxInFlight(es)
	}
	type death struct {
		done int64
		why  string
	}
	dead := map[string]death{}
	for _, e := range es {
		if e.Session == "" {
			continue
		}
		var why string
		switch {
		case e.Code == fakebill.CodeSessionInvalid:
			why = fmt.Sprintf("the server answered BDC_1109 at seq %d", e.Seq)
		case e.Op == "Logout" && e.Code == "" && e.Status == 200:
			why = fmt.Sprintf("it was logged out at seq %d", e.Seq)
		default:
			continue
		}
		if d, ok := dead[e.Session]; !ok || e.DoneSeq < d.done {
			dead[e.Session] = death{e.DoneSeq, why}
		}
	}
	var found []string
	resent := map[string]int{}
	for _, e := range es {
		d, ok := dead[e.Session]
		if !ok || e.Seq <= d.done || e.Op == "Login" || e.Op == "ListOrgs" {
			continue
		}
		allowed := excused
		if excused == 0 {
			allowed = inFlight[e.Account] - 1
		}
		if e.Code == fakebill.CodeSessionInvalid && resent[e.Session] < allowed {
			resent[e.Session]++
			continue
		}
		found = append(found, fmt.Sprintf("%s sent again after %s (done at %d): %s", e.Session, d.why, d.done, describe(e)))
	}
	return found
}

// maxInFlight returns, per account, the most requests that were in flight
// at the server at once: a request is in flight from its arrival (seq) to
// its completion (done_seq, on the same scale). es is in seq order.
func maxInFlight(es []fakebill.Entry) map[string]int {
	most := map[string]int{}
	open := map[string][]int64{} // done_seq of requests that may still be in flight
	for _, e := range es {
		if e.Account == "" {
			continue
		}
		live := open[e.Account][:0]
		for _, done := range open[e.Account] {
			if done >= e.Seq {
				live = append(live, done)
			}
		}
		live = append(live, e.DoneSeq)
		open[e.Account] = live
		most[e.Account] = max(most[e.Account], len(live))
	}
	return most
}

// auditLoginStorm finds accounts with more than limit logins within
// window of server time.
func auditLoginStorm(es []fakebill.Entry, limit int, window time.Duration) []string {
	byAccount := map[string][]fakebill.Entry{}
	var accounts []string
	for _, e := range es {
		if e.Op != "Login" || e.Account == "" {
			continue
		}
		if _, ok := byAccount[e.Account]; !ok {
			accounts = append(accounts, e.Account)
		}
		byAccount[e.Account] = append(byAccount[e.Account], e)
	}
	var found []string
	for _, acct := range accounts {
		ls := byAccount[acct]
		slices.SortStableFunc(ls, func(a, b fakebill.Entry) int { return a.Time.Compare(b.Time) })
		best, bi, bj := 0, 0, 0
		for i, j := 0, 0; j < len(ls); j++ {
			for ls[j].Time.Sub(ls[i].Time) >= window {
				i++
			}
			if n := j - i + 1; n > best {
				best, bi, bj = n, i, j
			}
		}
		if best > limit {
			first, last := ls[bi], ls[bj]
			found = append(found, fmt.Sprintf("%s logged in %d times within %v of server time "+
				"(seq %d at %s to seq %d at %s); at most %d allowed", acct, best, window,
				first.Seq, first.Time.Format(time.RFC3339), last.Seq, last.Time.Format(time.RFC3339), limit))
		}
	}
	return found
}

// auditRetryLoop finds runs of more than limit identical requests (same
// operation and data) from one account, each answered by an error.
// Logins between them do not break a run: re-login and retry forever is
// the commonest loop.
func auditRetryLoop(es []fakebill.Entry, limit int) []string {
	type run struct {
		op, data    string
		n           int
		first, last int64
		answer      string
		reported    bool
	}
	runs := map[string]*run{}
	var found []string
	flush := func(key string, r *run) {
		if r != nil && r.n > limit && !r.reported {
			r.reported = true
			found = append(found, fmt.Sprintf("%s sent %s %d times in a row, each answered by an error "+
				"(last %s; seq %d to %d); at most %d allowed", key, r.op, r.n, r.answer, r.first, r.last, limit))
		}
	}
	var keys []string
	for _, e := range es {
		if e.Op == "Login" || e.Op == "ListOrgs" {
			continue
		}
		key := e.Account
		if key == "" {
			key = e.Session
		}
		if key == "" {
			key = "a client with no session"
		}
		r, seen := runs[key]
		if !seen {
			keys = append(keys, key)
		}
		failed := e.Code != "" || e.Status >= 400
		if r != nil && failed && r.op == e.Op && r.data == e.DataSHA256 {
			r.n++
			r.last = e.Seq
			r.answer = answerOf(e)
			continue
		}
		flush(key, r)
		runs[key] = nil
		if failed {
			runs[key] = &run{op: e.Op, data: e.DataSHA256, n: 1, first: e.Seq, last: e.Seq, answer: answerOf(e)}
		}
	}
	for _, k := range keys {
		flush(k, runs[k])
	}
	return found
}

func answerOf(e fakebill.Entry) string {
	if e.Code != "" {
		return e.Code
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}
