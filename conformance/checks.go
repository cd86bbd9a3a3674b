package conformance

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// The operations the scenarios call.
const (
	readPath   = "Crud/Read/Vendor.json"
	readOp     = "Crud/Read/Vendor"
	createPath = "Crud/Create/Vendor.json"
	createOp   = "Crud/Create/Vendor"
	infoPath   = "GetSessionInfo.json"
	billPath   = "Crud/Create/Bill.json"
	billOp     = "Crud/Create/Bill"
)

const idleTimeout = fakebill.DefaultIdleTimeout

// vendor installs a fixture for readPath and returns the call's data and
// the result a client must return for it.
func (r *runner) vendor() (data, want map[string]any) {
	id := "009" + randomString(17, alnum)
	want = map[string]any{"entity": "Vendor", "id": id, "name": "Vendor " + randomString(6, alnum), "isActive": "1"}
	if err := r.fake.SetFixture(readPath, want); err != nil {
		r.failf("setup: installing a fixture: %v", err)
	}
	return map[string]any{"id": id}, want
}

// sameJSON reports whether got decodes to the same value as want.
func sameJSON(got json.RawMessage, want any) bool {
	var g, w any
	if json.Unmarshal(got, &g) != nil {
		return false
	}
	b, _ := json.Marshal(want)
	json.Unmarshal(b, &w)
	return reflect.DeepEqual(g, w)
}

// requireResult fails the check unless o returned want.
func (r *runner) requireResult(what string, o outcome, want any) bool {
	if p := r.callProblem(o); p != "" {
		r.failf("%s: %s\n%s", what, p, r.show(r.entries(o.from, o.to)))
		return false
	}
	if p := resultProblem(o, want); p != "" {
		r.failf("%s: %s", what, p)
		return false
	}
	return true
}

// resultProblem describes why o did not return want, or "".
func resultProblem(o outcome, want any) string {
	switch {
	case o.hung:
		return fmt.Sprintf("Call(%q) hung", o.path)
	case o.panicked != nil:
		return fmt.Sprintf("Call(%q) panicked: %v", o.path, o.panicked)
	case o.err != nil:
		return fmt.Sprintf("Call(%q) returned an error: %v", o.path, o.err)
	case !sameJSON(o.result, want):
		return fmt.Sprintf("Call returned %s, which is not the response_data the server sent", clip(o.result))
	}
	return ""
}

func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// minutes renders a server-time offset from the start of the run.
func (r *runner) minutes(t time.Time) string {
	return fmt.Sprintf("minute %d", int(t.Sub(fakebill.DefaultStartTime)/time.Minute))
}

func checkNoSecretInURL(r *runner) {
	data, _ := r.vendor()
	r.call(readPath, data)
	r.call(infoPath, map[string]any{})
	r.call(createPath, map[string]any{"obj": map[string]any{"entity": "Vendor", "name": "Leak check"}})
	r.advance(idleTimeout)
	r.call(readPath, data)
	r.fake.EndAll()
	r.call(readPath, data)
	r.close()

	leaky := filter(r.all(), func(e fakebill.Entry) bool { return len(e.Leaks) > 0 })
	if len(leaky) > 0 {
		r.failf("%d requests carried a secret in the URL (shown in brackets; paths as journaled, secrets replaced)\n%s", len(leaky), r.show(firstN(leaky, 8)))
	}
}

// refuseOneLogin makes the first Login answer BDC_1101.
func refuseOneLogin(r *runner) {
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Op: "Login"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeBadCredentials}, Times: 1})
}

func checkNoSecretInOutput(r *runner) {
	data, _ := r.vendor()
	if r.newErr != nil && !r.rebuild() {
		return
	}
	// A refused login (queued by refuseOneLogin), an API error and an
	// expiry: the moments clients tend to dump what they sent.
	r.call(readPath, data)
	r.call(readPath, data)
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeSystemError}, Times: 1})
	r.call(readPath, data)
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Status: 502}, Times: 1})
	r.call(readPath, data)
	// Clients that dump payloads only on particular errors: a refused
	// developer key, a business error, and both rate limits.
	for _, code := range []string{fakebill.CodeBadDevKey, fakebill.CodeInvalidParameter, fakebill.CodeConcurrencyLimit, fakebill.CodeHourlyLimit} {
		r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: code}, Times: 3})
		r.call(readPath, data)
		r.fake.ClearFaults()
	}
	r.advance(idleTimeout)
	r.call(readPath, data)
	r.close()

	ss := r.secrets()
	if names := ss.find(r.log.String()); len(names) > 0 {
		r.failf("the client's log (Env.Log) shows %s (whole, encoded, by its first %d characters or by %d from within it)", strings.Join(names, ", "), minPrefix, minInner)
	}
	r.mu.Lock()
	texts := append([]string(nil), r.errTexts...)
	r.mu.Unlock()
	for _, t := range texts {
		if names := ss.find(t); len(names) > 0 {
			r.failf("an error the client returned shows %s: %q", strings.Join(names, ", "), ss.redact(t))
			break
		}
	}
}

// busyHour makes 250 calls spread over one server hour with no idle gap
// and returns whether they all succeeded.
func (r *runner) busyHour() bool {
	data, want := r.vendor()
	failed := 0
	for round := 0; round < 10; round++ {
		if round > 0 {
			r.advance(6 * time.Minute)
		}
		for i := 0; i < 25; i++ {
			o := r.call(readPath, data)
			if r.callProblem(o) != "" || !sameJSON(o.result, want) {
				if failed == 0 {
					r.failf("call %d of 250 failed: %s\n%s", round*25+i+1, r.callProblem(o), r.show(r.entries(o.from, o.to)))
				}
				failed++
			}
		}
	}
	if failed > 1 {
		r.failf("%d of 250 calls failed in all", failed)
	}
	return failed == 0
}

// loginTimes lists when each login happened, for a finding.
func (r *runner) loginTimes() string {
	var ts []string
	for _, e := range filter(r.all(), isLogin) {
		ts = append(ts, r.minutes(e.Time))
	}
	if len(ts) > 12 {
		ts = append(ts[:12], "…")
	}
	return strings.Join(ts, ", ")
}

// ListOrgs takes the password too: a client that calls it before every
// call sends its credentials as often as one that logs in every time.
func checkReuseSession(r *runner) {
	r.busyHour()
	if n := count(r.all(), isLogin); n > 3 {
		r.failf("250 calls within one hour caused %d logins, want at most 3; logins at %s", n, r.loginTimes())
	}
	if n := count(r.all(), opIs("ListOrgs")); n > 3 {
		r.failf("250 calls within one hour caused %d ListOrgs calls, each carrying the password, want at most 3", n)
	}
}

func checkLoginOnce(r *runner) {
	r.busyHour()
	if n := count(r.all(), isLogin); n != 1 {
		r.failf("250 calls within one hour caused %d logins, want exactly 1; logins at %s", n, r.loginTimes())
	}
	if n := count(r.all(), opIs("ListOrgs")); n > 1 {
		r.failf("250 calls within one hour caused %d ListOrgs calls, each carrying the password, want at most 1", n)
	}
}

// afterIdle idles for d and judges the next call: it must succeed with
// exactly one new login and at most one BDC_1109 since the previous call.
func (r *runner) afterIdle(d time.Duration, data, want any) {
	from := r.lastSeq()
	r.advance(d)
	o := r.call(readPath, data)
	es := r.entries(from, o.to)
	v := via(r.all())
	ideal := []step{
		{method: "POST", op: readOp, session: "session#1", via: v, answer: fakebill.CodeSessionInvalid},
		{method: "POST", op: "Login", answer: "ok", session: "session#2"},
		{method: "POST", op: readOp, session: "session#2", via: v, answer: "ok"},
	}
	what := fmt.Sprintf("after %v idle", d)
	if p := resultProblem(o, want); p != "" {
		r.failf("%s: %s\n%s", what, p, r.diff(ideal, es))
		return
	}
	// Exactly one: none would mean the session never expired, so the
	// scenario (or a client pinging while idle) tested nothing.
	if n := count(es, isLogin); n != 1 {
		r.failf("%s the call needed %d new logins, want exactly 1\n%s", what, n, r.show(es))
	}
	if n := count(es, codeIs(fakebill.CodeSessionInvalid)); n > 1 {
		r.failf("%s the call met BDC_1109 %d times, want at most 1\n%s", what, n, r.show(es))
	}
}

func checkReloginAfterIdleExpiry(r *runner) {
	data, want := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	r.afterIdle(idleTimeout, data, want)
	r.afterIdle(40*time.Minute, data, want)
}

func checkReloginAfterServerEnded(r *runner) {
	data, want := r.vendor()
	first, ok := r.setupCall(readPath, data)
	if !ok {
		return
	}
	r.advance(time.Minute)
	r.fake.EndAll()
	o := r.call(readPath, data)
	es := r.entries(first.to, o.to)
	v := via(r.all())
	ideal := []step{
		{method: "POST", op: readOp, session: "session#1", via: v, answer: fakebill.CodeSessionInvalid},
		{method: "POST", op: "Login", answer: "ok", session: "session#2"},
		{method: "POST", op: readOp, session: "session#2", via: v, answer: "ok"},
	}
	if p := resultProblem(o, want); p != "" {
		r.failf("after the server ended the session at minute 1: %s\n%s", p, r.diff(ideal, es))
		return
	}
	if n := count(es, isLogin); n != 1 {
		r.failf("the call needed %d new logins, want exactly 1\n%s", n, r.diff(ideal, es))
	}
}

// checkReplaySameRequest sends a create into a dead session twice: once
// after 35 idle minutes, once after the server ended the session. The
// second catches a client whose own refresh timer hides the first.
func checkReplaySameRequest(r *runner) {
	data, _ := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	if !r.replayCreate("after the session expired", "session#1", "session#2", func() { r.advance(idleTimeout) }) {
		return
	}
	r.advance(time.Minute)
	r.replayCreate("after the server ended the session", "session#2", "session#3", func() { r.fake.EndAll() })
}

// replayCreate kills the session with expire, sends a create and judges
// that it was replayed once on a new session, with the same path and data.
func (r *runner) replayCreate(what, oldSession, newSession string, expire func()) bool {
	var mu sync.Mutex
	var seen []json.RawMessage
	id := "009" + randomString(17, alnum)
	r.fake.HandleFunc(createPath, func(c *fakebill.Call) (any, error) {
		mu.Lock()
		seen = append(seen, append(json.RawMessage(nil), c.Data...))
		mu.Unlock()
		return map[string]any{"entity": "Vendor", "id": id}, nil
	})
	obj := map[string]any{"obj": map[string]any{"entity": "Vendor", "name": "Acme " + randomString(6, alnum), "isActive": "1"}}

	from := r.lastSeq()
	expire()
	o := r.call(createPath, obj)
	es := r.entries(from, o.to)
	creates := filter(es, opIs(createOp))
	v := via(r.all())
	ideal := []step{
		{method: "POST", op: createOp, session: oldSession, via: v, answer: fakebill.CodeSessionInvalid},
		{method: "POST", op: "Login", answer: "ok", session: newSession},
		{method: "POST", op: createOp, session: newSession, via: v, answer: "ok"},
	}
	if p := resultProblem(o, map[string]any{"entity": "Vendor", "id": id}); p != "" {
		r.failf("a create call %s: %s\n%s", what, p, r.diff(ideal, es))
		return false
	}
	ok := true
	for _, e := range creates {
		if e.DataSHA256 == "" {
			r.failf("%s: %s carried no data field; the create's data was lost", what, r.labeler().step(e))
			ok = false
		} else if e.DataSHA256 != creates[0].DataSHA256 {
			r.failf("%s: the replayed create carried different data than the first attempt (data_sha256 of the raw data differs; replay the same bytes)\n%s", what, r.show(creates))
			ok = false
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case len(seen) != 1:
		r.failf("%s: the create reached the server %d times with a valid session, want exactly once\n%s", what, len(seen), r.show(es))
		ok = false
	case !sameJSON(seen[0], obj):
		r.failf("%s: the create's data arrived as %s, want %s", what, clip(seen[0]), mustJSON(obj))
		ok = false
	}
	return ok
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func checkKeepAlive(r *runner) {
	data, want := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	for i := 1; i <= 6; i++ {
		r.advance(30 * time.Minute)
		if !r.requireResult(fmt.Sprintf("the call after %d minutes", 30*i), r.call(readPath, data), want) {
			return
		}
	}
	if n := count(r.all(), isLogin); n != 1 {
		r.failf("a call every 30 minutes for 3 hours caused %d logins, want exactly 1 (each call resets the idle timer); logins at %s", n, r.loginTimes())
	}
}

func checkConcurrentExpiry(r *runner) {
	data, want := r.vendor()
	first, ok := r.setupCall(readPath, data)
	if !ok {
		return
	}
	old := r.all()[len(r.all())-1].Session
	// Hold requests on the old session until all 3 have arrived, so the
	// calls really overlap, then let them meet the ended session.
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Session: old}, Barrier: &fakebill.Barrier{N: 3, Timeout: 2 * time.Second}})
	r.fake.EndSession(old)
	outs := r.calls(3, readPath, data)
	peak := r.front.peakInFlight()
	r.fake.ClearFaults()
	es := r.entries(first.to, outs[0].to)

	onOld := filter(es, func(e fakebill.Entry) bool { return e.Session == old && !isLogin(e) })
	if len(onOld) < 3 || peak < 3 {
		r.skip(fmt.Sprintf("the 3 calls never overlapped: %d reached the server with the old session, at most %d at once", len(onOld), peak))
		return
	}
	var problems []string
	for i, o := range outs {
		if p := resultProblem(o, want); p != "" {
			problems = append(problems, fmt.Sprintf("concurrent call %d: %s", i+1, p))
		}
	}
	if n := count(es, isLogin); n != 1 {
		problems = append(problems, fmt.Sprintf("3 calls that met one expired session caused %d logins, want exactly 1", n))
	}
	replayed := count(es, func(e fakebill.Entry) bool {
		return e.Op == readOp && e.Session != old && e.Session != "" && answer(e) == "ok"
	})
	if replayed != 3 {
		problems = append(problems, fmt.Sprintf("%d of the 3 calls were replayed on a new session, want 3", replayed))
	}
	if len(problems) > 0 {
		r.failf("%s\nrequests:\n%s", strings.Join(problems, "\n"), r.show(es))
	}
}

// errorCase is a call answered with an error that is not about the
// session.
type errorCase struct {
	name  string
	code  string
	path  string
	apply func(r *runner) // queue the fault or fixture
}

func faultCase(name, code string) errorCase {
	return errorCase{name: name, code: code, path: readPath, apply: func(r *runner) {
		r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: code}})
	}}
}

// businessError is a fixture error, as a real validation failure answers.
var businessError = errorCase{name: "a business error", code: fakebill.CodeInvalidParameter, path: billPath, apply: func(r *runner) {
	r.fake.HandleFunc(billPath, func(*fakebill.Call) (any, error) {
		return nil, &fakebill.Error{Code: fakebill.CodeInvalidParameter, Message: "Invalid parameter value for parameter,value: amount, -5."}
	})
}}

// afterCode returns the entries after the first one answered code: what
// the client did in response to that answer.
func afterCode(es []fakebill.Entry, code string) []fakebill.Entry {
	for i, e := range es {
		if e.Code == code {
			return es[i+1:]
		}
	}
	return nil
}

// surfaced checks that o failed with code and returns a finding otherwise.
func surfaced(o outcome, code string) string {
	switch {
	case o.hung || o.panicked != nil:
		return fmt.Sprintf("the call did not finish cleanly (hung or panicked)")
	case o.err == nil:
		return fmt.Sprintf("Call returned a result (%s) although the server answered %s", clip(o.result), code)
	case errorCode(o.err) != code:
		got := errorCode(o.err)
		if got == "" {
			got = "no code"
		}
		return fmt.Sprintf("Call's error carries %s, want %s (the code the server answered); error: %v", got, code, o.err)
	}
	return ""
}

func checkNoReloginOnOtherErrors(r *runner) {
	data, _ := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	for _, c := range []errorCase{
		faultCase("BDC_1102 (developer key invalid)", fakebill.CodeBadDevKey),
		businessError,
		faultCase("BDC_1361 (untrusted session)", fakebill.CodeUntrustedSession),
	} {
		c.apply(r)
		o := r.call(c.path, map[string]any{"obj": map[string]any{"entity": "Bill", "amount": -5}})
		r.fake.ClearFaults()
		es := r.entries(o.from, o.to)
		if n := count(afterCode(es, c.code), isLogin); n > 0 {
			r.failf("on %s the client logged in %d times, want none (only BDC_1109 means the session is gone)\n%s", c.name, n, r.show(es))
		}
		if f := surfaced(o, c.code); f != "" {
			r.failf("on %s: %s", c.name, f)
		}
	}
}

func checkRateLimitNotSession(r *runner) {
	data, _ := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	for _, c := range []errorCase{
		faultCase("BDC_1322 (concurrency limit)", fakebill.CodeConcurrencyLimit),
		faultCase("BDC_1144 (hourly limit)", fakebill.CodeHourlyLimit),
	} {
		c.apply(r)
		o := r.call(c.path, data)
		r.fake.ClearFaults()
		es := r.entries(o.from, o.to)
		if n := count(afterCode(es, c.code), isLogin); n > 0 {
			r.failf("on %s the client logged in %d times, want none\n%s", c.name, n, r.show(es))
		}
		if n := count(es, opIs(readOp)); n > 3 {
			r.failf("on %s the client sent the call %d times, want at most 3\n%s", c.name, n, r.show(es))
		}
		if f := surfaced(o, c.code); f != "" {
			r.failf("on %s: %s", c.name, f)
		}
	}
}

func checkErrorsSurface(r *runner) {
	data, want := r.vendor()
	if !r.requireResult("a plain call", r.call(readPath, data), want) {
		return
	}

	for _, c := range []errorCase{
		faultCase("BDC_1001 (system error)", fakebill.CodeSystemError),
		businessError,
	} {
		c.apply(r)
		o := r.call(c.path, data)
		r.fake.ClearFaults()
		if f := surfaced(o, c.code); f != "" {
			r.failf("on %s: %s\n%s", c.name, f, r.show(r.entries(o.from, o.to)))
		}
	}

	// An upstream proxy's plain-text HTTP 503 is an error too.
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Status: 503}})
	o := r.call(readPath, data)
	r.fake.ClearFaults()
	switch {
	case o.panicked != nil:
		r.failf("Call panicked on a plain-text HTTP 503 answer: %v", o.panicked)
	case o.err == nil && !o.hung:
		r.failf("Call returned a result (%s) for a plain-text HTTP 503 answer", clip(o.result))
	}

	// Last, since it ends the session: an injected BDC_1109. Either a new
	// login and a replay, or an error that says so; never the error
	// envelope passed off as the result.
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeSessionInvalid}, Times: 1})
	o = r.call(readPath, data)
	if o.err == nil {
		if lastE, ok := last(r.entries(o.from, o.to), readOp); ok && lastE.Code != "" {
			r.failf("Call returned a result (%s) although the server's last answer was %s", clip(o.result), lastE.Code)
		} else {
			r.requireResult("a call answered BDC_1109 once", o, want)
		}
	} else if f := surfaced(o, fakebill.CodeSessionInvalid); f != "" {
		r.failf("on a call answered BDC_1109 once: %s", f)
	}
}

func checkBoundedRelogin(r *runner) {
	data, _ := r.vendor()
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeSessionInvalid}})
	for i := 1; i <= 2; i++ {
		o := r.call(readPath, data)
		es := r.entries(o.from, o.to)
		if n := count(es, isLogin); n > 3 {
			r.failf("call %d: %d logins while every call was answered BDC_1109, want at most 3 per call\n%s", i, n, r.show(firstN(es, 12)))
		}
		if o.err == nil && !o.hung && o.panicked == nil {
			r.failf("call %d: Call returned a result (%s) although every attempt was answered BDC_1109", i, clip(o.result))
		}
		if o.hung {
			return
		}
	}
}

func firstN(es []fakebill.Entry, n int) []fakebill.Entry {
	if len(es) > n {
		return es[:n]
	}
	return es
}

// noCallWithoutSession fails the check for every non-login request that
// carried no session or one the server never minted.
func (r *runner) noCallWithoutSession(es []fakebill.Entry, after string) {
	// No label means no session or one the server never minted.
	bad := filter(es, func(e fakebill.Entry) bool {
		return !isLogin(e) && e.Op != "ListOrgs" && e.Session == ""
	})
	if len(bad) > 0 {
		r.failf("after %s the client sent %d calls without a real session; it must stop at the failed login\n%s", after, len(bad), r.show(firstN(bad, 6)))
	}
}

// refuseLogins makes every Login answer BDC_1101. It runs before the
// client is built, so that a client logging in eagerly meets it too.
func refuseLogins(r *runner) {
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Op: "Login"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeBadCredentials}})
}

func checkLoginFailure(r *runner) {
	data, _ := r.vendor()
	var from int64
	if r.newErr != nil {
		// The client logs in as it is built, and New reported the refusal.
		if k := errorKind(r.newErr); k != kindAuth {
			r.failf("Subject.New reported the refused login as an error of kind %q (code %q), want kind \"auth\" (BDC_1101); error: %v", k, errorCode(r.newErr), r.newErr)
		}
		r.noCallWithoutSession(r.all(), "a refused login")
		return
	}
	for i := 1; i <= 2; i++ {
		o := r.call(readPath, data)
		es := r.entries(o.from, o.to)
		switch {
		case o.hung || o.panicked != nil:
			r.failf("call %d: the call did not finish cleanly after a refused login", i)
		case o.err == nil:
			r.failf("call %d: Call returned a result (%s) although the login was refused with BDC_1101", i, clip(o.result))
		case errorKind(o.err) != kindAuth:
			r.failf("call %d: the refused login surfaced as an error of kind %q (code %q), want kind \"auth\" (BDC_1101); error: %v", i, errorKind(o.err), errorCode(o.err), o.err)
		}
		if n := count(es, isLogin); n > 3 {
			r.failf("call %d: %d login attempts after BDC_1101, want at most 3 (repeated attempts lock the account)", i, n)
		}
	}
	r.noCallWithoutSession(r.entries(from, 0), "a refused login")
	r.fake.ClearFaults()

	// A login answer without a sessionId is a failed login too.
	from = r.lastSeq()
	r.front.stripped.Store(true)
	o := r.call(readPath, data)
	r.front.stripped.Store(false)
	if o.err == nil && !o.hung && o.panicked == nil {
		r.failf("Call returned a result (%s) although the login answer carried no sessionId", clip(o.result))
	}
	r.noCallWithoutSession(r.entries(from, o.to), "a login answer without a sessionId")
}

func checkNoStaleSession(r *runner) {
	data, want := r.vendor()
	if _, ok := r.setupCall(readPath, data); !ok {
		return
	}
	r.fake.AddFault(fakebill.Fault{Match: fakebill.FaultMatch{Path: "*"}, Reply: &fakebill.FaultReply{Code: fakebill.CodeSessionInvalid}})
	o1 := r.call(readPath, data)
	r.fake.ClearFaults()
	if o1.err == nil && !o1.hung {
		r.failf("call 1 returned a result (%s) although every attempt was answered BDC_1109", clip(o1.result))
	}
	o2 := r.call(readPath, data)
	r.requireResult("call 2, once the server accepts sessions again", o2, want)
	r.close()

	es := r.all()
	l := r.labeler()
	dead := map[string]int64{} // session label → done_seq of its BDC_1109
	for _, e := range es {
		if e.Session == "" || isLogin(e) {
			continue
		}
		if done, ok := dead[e.Session]; ok && e.Seq > done {
			r.failf("%s was sent again after the server answered BDC_1109 for it\n%s", l.name(e.Session), r.show(es[1:]))
			return
		}
		if e.Code == fakebill.CodeSessionInvalid {
			if _, ok := dead[e.Session]; !ok {
				dead[e.Session] = e.DoneSeq
			}
		}
	}
}

func checkCredentialsOnlyOnLogin(r *runner) {
	data, _ := r.vendor()
	r.call(readPath, data)
	r.call(infoPath, map[string]any{})
	r.call(createPath, map[string]any{"obj": map[string]any{"entity": "Vendor", "name": "Creds check"}})
	r.advance(idleTimeout)
	r.call(readPath, data)
	r.close()

	bad := filter(r.all(), func(e fakebill.Entry) bool {
		return len(e.CredFields) > 0 && e.Op != "Login" && e.Op != "ListOrgs"
	})
	if len(bad) > 0 {
		r.failf("%d calls other than Login carried credentials\n%s", len(bad), r.show(firstN(bad, 6)))
	}
}

func checkLogoutOnClose(r *runner) {
	data, _ := r.vendor()
	first, ok := r.setupCall(readPath, data)
	if !ok {
		return
	}
	r.close()
	if r.closeErr != nil {
		r.failf("Close returned an error: %v", r.closeErr)
	}
	es := r.entries(first.to, 0)
	var session string
	if es0 := r.entries(first.from, first.to); len(es0) > 0 {
		session = es0[len(es0)-1].Session
	}
	want := []step{{method: "POST", op: "Logout", session: "session#1", via: via(r.all()), answer: "ok"}}
	if len(es) != 1 || es[0].Op != "Logout" || es[0].Session != session || answer(es[0]) != "ok" {
		r.failf("Close did not end the session with one Logout.json\n%s", r.diff(want, es))
	}
}
