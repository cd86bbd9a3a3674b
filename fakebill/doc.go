// Package fakebill is a fake Bill.com v2 API server for testing API
// clients: their login, session expiry and re-login, and that they never
// put a secret in a URL.
//
// A [Server] is an [net/http.Handler]. Its clock is an input: tests move
// it (a [ManualClock], a *clock.Mock, or virtual time inside a
// testing/synctest bubble) so that a 35-minute idle expiry takes no time.
package fakebill
