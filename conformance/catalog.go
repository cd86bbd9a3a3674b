package conformance

// Sources cited by the catalog. OWASP ASVS numbers are those of version
// 5.0.0; BILL pages are developer.bill.com's.
const (
	srcLoginBest  = "BILL: API login best practices (developer.bill.com/v2/docs/api-login-best-practices)"
	srcAuth       = "BILL: authentication overview (developer.bill.com/v2/docs/authentication-overview)"
	srcErrors     = "BILL: common error codes (developer.bill.com/v2/docs/common-error-codes)"
	srcResponse   = "BILL: API response format (developer.bill.com/v2/docs/api-response-format)"
	srcRequest    = "BILL: API request format (developer.bill.com/v2/docs/api-request-format)"
	srcRateLimits = "BILL: API rate limits (developer.bill.com/v2/docs/api-rate-limits)"
	srcASVSURL    = "OWASP ASVS 5.0 14.2.1 (sensitive data only in the HTTP body or headers, never in the URL)"
	srcASVSLog    = "OWASP ASVS 5.0 16.2.5 (credentials are not logged; session tokens only hashed or masked)"
)

// check is a catalog entry with the scenario that judges it. Passive
// checks have no run func: audit judges them from recorded traffic.
type check struct {
	Check
	run func(r *runner)
	// before, if set, prepares the fake before the client is built.
	before func(r *runner)
	// refuseLeaks runs the fake in refuse mode; every other check records
	// leaks so that a leaking client fails only the leak check.
	refuseLeaks bool
}

// catalog is the ordered list of checks. Append only: an id keeps its
// meaning forever, and a renamed check keeps its old id as an alias.
var catalog = []check{
	{
		Check: Check{
			ID: "no-secret-in-url", Level: MUST,
			Reason:   "userName, password, devKey and sessionId travel only in the POST body; URLs end up in logs and histories",
			Scenario: "With the fake refusing secrets in URLs: a read, GetSessionInfo, a create, 35 idle minutes and a read, the server ending the session and a read, then Close. Fails on any request that carried userName, password, devKey or a session id in its path, query or Referer.",
			Source:   srcASVSURL + "; " + srcLoginBest,
		},
		run: checkNoSecretInURL, refuseLeaks: true,
	},
	{
		Check: Check{
			ID: "no-secret-in-output", Level: MUST,
			Reason:   "the client's logs and error messages never show a credential or session id: whole, URL-, base64- or hex-encoded, by its first 5 characters or by any 6 from within it",
			Scenario: "A refused first login (BDC_1101), a call, a BDC_1001 answer, a plain-text HTTP 502, calls answered BDC_1102, BDC_1129, BDC_1322 and BDC_1144, 35 idle minutes and a call, then Close. Fails if Env.Log or the text of any error shows a credential or a session id the fake minted: whole, URL-, base64- or hex-encoded, by its first 5 characters, or by any 6 consecutive characters of it (of a userName, of the part before the @).",
			Source:   srcASVSLog,
		},
		run: checkNoSecretInOutput, before: refuseOneLogin,
	},
	{
		Check: Check{
			ID: "reuse-session", Level: MUST,
			Reason:   "the session is kept and reused: 250 calls within one hour need at most 3 logins",
			Scenario: "250 reads in 10 bursts of 25, 6 server minutes apart. Fails on more than 3 logins, on more than 3 ListOrgs calls (which carry the password too), or on a failed read.",
			Source:   srcLoginBest,
		},
		run: checkReuseSession,
	},
	{
		Check: Check{
			ID: "login-once", Level: SHOULD,
			Reason:   "250 calls within one hour, with no idle gap, need exactly one login",
			Scenario: "As reuse-session; fails on any number of logins but one, or on more than one ListOrgs call.",
			Source:   srcLoginBest,
		},
		run: checkLoginOnce,
	},
	{
		Check: Check{
			ID: "relogin-after-idle-expiry", Level: MUST,
			Reason:   "after 35 (and 40) idle minutes the next call succeeds after exactly one new login, with at most one BDC_1109 (refreshing at 34 idle minutes is fine)",
			Scenario: "A read; 35 idle minutes; a read, which must return the fixture after exactly one new login, having met BDC_1109 at most once; then 40 idle minutes and the same again.",
			Source:   srcLoginBest + "; " + srcAuth,
		},
		run: checkReloginAfterIdleExpiry,
	},
	{
		Check: Check{
			ID: "relogin-after-server-ended-session", Level: MUST,
			Reason:   "a session the server ended early is noticed by its BDC_1109 answer: one new login, the call replayed, success",
			Scenario: "A read; one minute later the server ends every session; a read, which must return the fixture after exactly one new login.",
			Source:   srcErrors + "; " + srcLoginBest,
		},
		run: checkReloginAfterServerEnded,
	},
	{
		Check: Check{
			ID: "replay-after-expiry-same-request", Level: MUST,
			Reason:   "a create call that met an expired session is replayed once after the new login, with the same path and data",
			Scenario: "A read; 35 idle minutes; a create with data; one minute later the server ends the session; another create. Each create must succeed, reach the server with a valid session exactly once, with the data it was given, and every attempt must carry the same data bytes (data_sha256). The second round catches a client whose own refresh timer spared it the first.",
			Source:   srcLoginBest,
		},
		run: checkReplaySameRequest,
	},
	{
		Check: Check{
			ID: "keep-alive", Level: SHOULD,
			Reason:   "every call resets the 35-minute idle timer: a call every 30 minutes for 3 hours needs no new login",
			Scenario: "A read, then a read every 30 minutes for 3 hours. Fails on any second login.",
			Source:   srcLoginBest + "; " + srcAuth,
		},
		run: checkKeepAlive,
	},
	{
		Check: Check{
			ID: "single-login-on-concurrent-expiry", Level: SHOULD,
			Reason:   "3 calls that meet the same expired session at once cause exactly one login, and all 3 are replayed on the new session",
			Scenario: "A read; the server ends the session and holds the next requests on it until 3 have arrived; 3 reads at once. All must succeed, with exactly one login and 3 replays on the new session. Skipped when the 3 calls never reached the server together.",
			Source:   srcLoginBest + "; " + srcRateLimits,
			Needs:    []Capability{CapConcurrent},
		},
		run: checkConcurrentExpiry,
	},
	{
		Check: Check{
			ID: "no-relogin-on-other-errors", Level: MUST,
			Reason:   "only BDC_1109 means the session is gone: BDC_1102, business errors and BDC_1361 \"Untrusted session.\" surface with their code and cause no login",
			Scenario: "After a read, calls answered BDC_1102, a business error (BDC_1129 from a fixture) and BDC_1361. Each must fail with that code, with no login after the answer.",
			Source:   srcErrors,
		},
		run: checkNoReloginOnOtherErrors,
	},
	{
		Check: Check{
			ID: "rate-limit-not-session", Level: MUST,
			Reason:   "BDC_1322 and BDC_1144 are rate limits, not session errors: no login, at most 3 attempts per call, the error surfaces",
			Scenario: "After a read, calls answered BDC_1322, then BDC_1144. Each must fail with that code, with no login and at most 3 attempts.",
			Source:   srcRateLimits + "; " + srcErrors,
		},
		run: checkRateLimitNotSession,
	},
	{
		Check: Check{
			ID: "errors-surface", Level: MUST,
			Reason:   "an error answer (HTTP 200 with response_status 1, or an HTTP error) is reported as an error with the server's code, never as a result",
			Scenario: "A read; calls answered BDC_1001, a business error and a plain-text HTTP 503 must fail, with the server's code where it sent one; a read answered BDC_1109 once must either return the fixture or fail with BDC_1109. A result that is not the server's response_data fails.",
			Source:   srcResponse + "; " + srcErrors,
		},
		run: checkErrorsSurface,
	},
	{
		Check: Check{
			ID: "bounded-relogin", Level: MUST,
			Reason:   "when every call is refused with BDC_1109 the client gives up after at most 3 logins per call, with an error, and does not hang",
			Scenario: "Every call is answered BDC_1109, while Login works. Two calls must each fail within the deadline after at most 3 logins.",
			Source:   srcLoginBest,
		},
		run: checkBoundedRelogin,
	},
	{
		Check: Check{
			ID: "login-failure-is-auth-error", Level: MUST,
			Reason:   "a refused login (BDC_1101) is an error of kind auth, a login answer without a sessionId is an error, and no call goes out without a real session",
			Scenario: "Every Login is answered BDC_1101 (from before the client is built). Two calls must fail with an error of kind auth, after at most 3 login attempts each, and no call may go out without a session the server minted. Then Login answers success without a sessionId: the call must fail, and again no call without a session.",
			Source:   srcErrors + "; " + srcLoginBest,
		},
		run: checkLoginFailure, before: refuseLogins,
	},
	{
		Check: Check{
			ID: "no-stale-session", Level: MUST,
			Reason:   "a session answered BDC_1109 is never sent again; the next call logs in afresh",
			Scenario: "A read; every call is answered BDC_1109, so a read fails; then the server accepts sessions again and a read must succeed. Fails if a session is sent again (Close included) after the server answered BDC_1109 for it.",
			Source:   srcLoginBest + "; " + srcErrors,
		},
		run: checkNoStaleSession,
	},
	{
		Check: Check{
			ID: "credentials-only-on-login", Level: SHOULD,
			Reason:   "userName and password are sent to Login (and ListOrgs) only, never with other calls",
			Scenario: "A read, GetSessionInfo, a create, 35 idle minutes and a read, then Close. Fails on any call other than Login and ListOrgs that carries userName or password.",
			Source:   srcRequest,
		},
		run: checkCredentialsOnlyOnLogin,
	},
	{
		Check: Check{
			ID: "logout-on-close", Level: SHOULD,
			Reason:   "closing the client ends its session with Logout.json, and nothing is sent after it",
			Scenario: "A read, then Close. Close must send exactly one Logout.json with the session, answered ok, and nothing after it. Skipped when the subject says NoClose.",
			Source:   srcLoginBest,
			Needs:    []Capability{CapClose},
		},
		run: checkLogoutOnClose,
	},
	{
		Check: Check{
			ID: "audit-secret-in-url", Level: MUST,
			Reason: "recorded traffic shows no credential or session id in a URL",
			Source: srcASVSURL + "; " + srcLoginBest,
			Needs:  []Capability{CapPassive},
		},
	},
	{
		Check: Check{
			ID: "audit-stale-session-reuse", Level: MUST,
			Reason: "recorded traffic shows no session sent again after the server answered BDC_1109 for it or it was logged out",
			Source: srcLoginBest + "; " + srcErrors,
			Needs:  []Capability{CapPassive},
		},
	},
	{
		Check: Check{
			ID: "audit-login-storm", Level: SHOULD,
			Reason: "recorded traffic shows no more than 3 logins per account within 5 server minutes",
			Source: srcLoginBest + "; " + srcRateLimits,
			Needs:  []Capability{CapPassive},
		},
	},
	{
		Check: Check{
			ID: "audit-retry-loop", Level: SHOULD,
			Reason: "recorded traffic shows no request repeated over and over after error answers",
			Source: srcRateLimits,
			Needs:  []Capability{CapPassive},
		},
	},
}

// Checks returns the catalog, in a stable order: the active checks that
// [Evaluate] runs, then the passive ones that [Audit] judges. Ids never
// change meaning. The slice is a copy; changing it changes nothing.
func Checks() []Check {
	out := make([]Check, len(catalog))
	for i, c := range catalog {
		out[i] = c.Check
		out[i].Needs = append([]Capability{CapCalls}, c.Needs...)
		if c.run == nil {
			out[i].Needs = append([]Capability(nil), c.Needs...)
		}
		out[i].Aliases = append([]string(nil), c.Aliases...)
	}
	return out
}
