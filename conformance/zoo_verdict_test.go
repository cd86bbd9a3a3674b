package conformance_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/google/go-cmp/cmp"
)

// zoo lists each broken client and the exact checks it must fail. A
// conformant control (correct, cookieSession, proactive34) must fail none.
var zoo = []struct {
	name      string
	fault     fault
	usesClock bool
	fails     []string
}{
	{name: "correct", fault: correct},
	{name: "secrets-in-query", fault: secretsInQuery, fails: []string{"no-secret-in-url"}},
	{name: "login-in-query", fault: loginInQuery, fails: []string{"no-secret-in-url"}},
	{name: "log-password-prefix", fault: logPasswordPrefix, fails: []string{"no-secret-in-output"}},
	{name: "log-request-url", fault: logRequestURL, fails: []string{"no-secret-in-output"}},
	{name: "session-in-error", fault: sessionInError, fails: []string{"no-secret-in-output"}},
	{name: "envelope-as-data", fault: envelopeAsData, fails: []string{
		"bounded-relogin", "errors-surface", "login-failure-is-auth-error",
		"no-relogin-on-other-errors", "no-stale-session", "rate-limit-not-session",
		"relogin-after-idle-expiry", "relogin-after-server-ended-session",
		"replay-after-expiry-same-request", "single-login-on-concurrent-expiry",
	}},
	{name: "never-relogin", fault: neverRelogin, fails: neverReloginFails},
	{name: "timer-only", fault: timerOnly, usesClock: true, fails: []string{
		"keep-alive", "login-once", "no-stale-session",
		"relogin-after-server-ended-session", "replay-after-expiry-same-request",
		"single-login-on-concurrent-expiry",
	}},
	{name: "status-only", fault: statusOnly, fails: neverReloginFails},
	{name: "over-broad", fault: overBroad, fails: []string{"no-relogin-on-other-errors"}},
	{name: "no-post-replay", fault: noPostReplay, fails: []string{"replay-after-expiry-same-request"}},
	{name: "replay-without-data", fault: replayWithoutData, fails: []string{"replay-after-expiry-same-request"}},
	{name: "every-caller-logs-in", fault: everyCallerLogsIn, fails: []string{"single-login-on-concurrent-expiry"}},
	{name: "login-every-call", fault: loginEveryCall, fails: []string{"keep-alive", "login-once", "reuse-session"}},
	{name: "eager-login", fault: eagerLogin, fails: []string{"keep-alive", "login-once"}},
	{name: "credentials-every-call", fault: credentialsEveryCall, fails: []string{"credentials-only-on-login"}},
	{name: "unbounded-relogin", fault: unboundedRelogin, fails: []string{"bounded-relogin"}},
	{name: "stale-after-error", fault: staleAfterError, fails: []string{"no-stale-session"}},
	{name: "unchecked-login", fault: uncheckedLogin, fails: []string{"login-failure-is-auth-error"}},
	{name: "login-error-no-code", fault: loginErrorNoCode, fails: []string{"login-failure-is-auth-error"}},
	{name: "rate-limit-as-session", fault: rateLimitAsSession, fails: []string{"rate-limit-not-session"}},
	{name: "retry-rate-limit-forever", fault: retryRateLimitForever, fails: []string{"rate-limit-not-session"}},
	{name: "hang-on-rate-limit", fault: hangOnRateLimit, fails: []string{"no-secret-in-output", "rate-limit-not-session"}},
	{name: "panic-on-http-error", fault: panicOnHTTPError, fails: []string{"errors-surface"}},
	{name: "no-logout", fault: noLogout, fails: []string{"logout-on-close"}},
	{name: "referer-leak", fault: refererLeak, fails: []string{"no-secret-in-url"}},
	{name: "retry-login-forever", fault: retryLoginForever, fails: []string{"login-failure-is-auth-error"}},
	{name: "proactive-34-no-post-replay", fault: proactiveNoPostReplay, usesClock: true, fails: []string{"replay-after-expiry-same-request"}},
	{name: "list-orgs-every-call", fault: listOrgsEveryCall, fails: []string{"login-once", "reuse-session"}},
	{name: "log-password-tail", fault: logPasswordTail, fails: []string{"no-secret-in-output"}},
	{name: "log-session-base64-on-rate-limit", fault: logSessionOnRateLimit, fails: []string{"no-secret-in-output"}},
	{name: "basic-auth-every-call", fault: basicAuthEveryCall, fails: []string{"credentials-only-on-login"}},
	{name: "password-under-other-key", fault: passwordUnderOtherKey, fails: []string{"credentials-only-on-login"}},
	{name: "cookie-session", fault: cookieSession},
	{name: "multipart-body", fault: multipartBody},
	{name: "proactive-34", fault: proactive34, usesClock: true},
}

// neverReloginFails is what a client that never logs in again fails.
var neverReloginFails = []string{
	"no-stale-session", "relogin-after-idle-expiry",
	"relogin-after-server-ended-session", "replay-after-expiry-same-request",
	"single-login-on-concurrent-expiry",
}

func zooSubject(f fault, usesClock bool) conformance.Subject {
	return conformance.Subject{Name: "zoo", API: "v2", Concurrent: true, UsesClock: usesClock, New: newZoo(f)}
}

// zooOptions keeps hung clients cheapish: nothing in the zoo needs more
// than milliseconds per call on loopback, even on a loaded machine.
var zooOptions = &conformance.Options{CallTimeout: 5 * time.Second}

func failed(results []conformance.Result) []string {
	var ids []string
	for _, r := range results {
		if r.Status == conformance.Fail {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestZoo(t *testing.T) {
	for _, z := range zoo {
		t.Run(z.name, func(t *testing.T) {
			t.Parallel()
			results, err := conformance.Evaluate(context.Background(), zooSubject(z.fault, z.usesClock), zooOptions)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string(nil), z.fails...)
			sort.Strings(want)
			if diff := cmp.Diff(want, failed(results)); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s", diff)
				for _, r := range results {
					if r.Status == conformance.Fail {
						t.Logf("%s:\n%v", r.ID, r.Details)
					}
				}
			}
		})
	}
}

// Every active check must be failed by at least one zoo client, or the
// zoo cannot show that the check detects anything.
func TestZooCoversCatalog(t *testing.T) {
	caught := map[string]bool{}
	for _, z := range zoo {
		for _, id := range z.fails {
			caught[id] = true
		}
	}
	for _, c := range conformance.Checks() {
		passive := false
		for _, n := range c.Needs {
			passive = passive || n == conformance.CapPassive
		}
		if !passive && !caught[c.ID] {
			t.Errorf("no zoo client fails %s", c.ID)
		}
		delete(caught, c.ID)
	}
	for id := range caught {
		t.Errorf("the zoo table names %q, which is not in the catalog", id)
	}
}
