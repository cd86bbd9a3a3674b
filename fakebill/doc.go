// Package fakebill is a fake Bill.com v2 API server for testing API
// clients: their login, session expiry and re-login, and that they never
// put a secret in a URL.
//
// A [Server] is an [net/http.Handler]; it opens no socket of its own.
// Serve it with net/http, httptest, or the helpers of package sessiontest.
// Its clock is an input: tests move it (a [ManualClock], a *clock.Mock,
// or virtual time inside a testing/synctest bubble) so that a 35-minute
// idle expiry takes no time.
//
// # Requests
//
// Every request passes through one pipeline, and the first step that
// fails answers:
//
//  1. leak check: a credential or session id in the path, query or
//     Referer is refused (HTTP 400, FAKEBILL_SECRET_IN_URL) or, with
//     [LeakRecord], only journaled;
//  2. route and method: HTTP 404 with BDC_1121 for an unknown path, HTTP
//     405 for a wrong method; queued [Fault] values act here;
//  3. devKey: BDC_1178 when missing, BDC_1102 when unknown or not the
//     session's;
//  4. session: BDC_1109 when missing, unknown, expired or ended (Login and
//     ListOrgs check their credentials instead);
//  5. body: BDC_1122 for a malformed data field;
//  6. the operation: Login, ListOrgs, Logout, GetSessionInfo, or any other
//     *.json path, answered by its fixture or a generic success.
//
// Every BDC error is HTTP 200 with the v2 error envelope, as the service
// sends it. Each API request then becomes one journal [Entry].
//
// # Control API
//
// Under /_fakebill the server answers JSON requests that move its clock,
// end sessions, read the journal, queue faults and set fixtures; the Go
// methods of [Server] do the same for tests in the same process.
//
// # Secrets
//
// No configured secret or session id appears in a log line, journal
// entry, control API answer or error message: Login's own answer and its
// Set-Cookie are the only places a session id is sent.
package fakebill
