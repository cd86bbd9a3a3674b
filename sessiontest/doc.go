// Package sessiontest runs a fake Bill.com v2 server for Go tests, in the
// manner of net/http/httptest, so that a client's login, session expiry,
// re-login and handling of secrets can be tested in microseconds.
//
// # Quick start
//
//	s := sessiontest.New(t, nil)                      // demo account; leak-checked at cleanup
//	c := newClient(s.BaseURL, s.Account, s.Client()) // your client, pointed at the fake
//	s.Advance(35 * time.Minute)                       // the session expires: c must log in again
//
// # Servers
//
// [New] is the form for tests: it takes t, closes the server by
// t.Cleanup, and at cleanup fails the test if the client put a userName,
// password, devKey or session id in a URL (unless Options.AllowLeaks is
// set). [NewServer], [NewTLSServer] and [NewUnstartedServer] take no t,
// for Examples and for code that manages its own lifetime; the caller
// calls Close.
//
// A socket server listens on 127.0.0.1 on a port the system picks, and
// its fake reads a *clock.Mock (github.com/benbjohnson/clock) set to
// [fakebill.DefaultStartTime]; [Server.Advance] moves it. A client that
// takes a clock can be handed Server.Clock so that its timers move with
// the fake. Server.Client is a ready *http.Client: no cookie jar, no
// proxy, and for a TLS server it trusts the server's certificate.
//
// The server exposes what tests look at: [Server.Logins] and
// [Server.Calls] count requests, [Server.Journal] lists them (redacted),
// [Server.Leaks] lists those with a secret in the URL. It ends sessions on
// demand ([Server.EndSession], [Server.EndAccount], [Server.EndAll]),
// queues faults ([Server.AddFault]) and answers calls from fixtures
// ([Server.SetFixture], [Server.HandleFunc]). [Server.Fake] gives the
// [fakebill.Server] for everything else.
//
// # Virtual time with testing/synctest
//
// A client that renews its session on its own timer (time.AfterFunc,
// time.Ticker) cannot be handed a mock clock. Run it in a
// testing/synctest bubble instead: there time.Now and every timer are
// virtual, and time advances as soon as every goroutine in the bubble is
// blocked. [NewInMemory] makes a server for that: it opens no socket (its
// client dials an in-memory listener) and its fake reads time.Now.
// [RunSynctest] opens the bubble, makes the server inside it, and closes
// it before the bubble ends:
//
//	func TestRenewsBeforeExpiry(t *testing.T) {
//		sessiontest.RunSynctest(t, func(t *testing.T, s *sessiontest.Server) {
//			c := newRenewingClient(s, 34*time.Minute) // re-logs in 34 idle minutes after each use
//			defer c.Close()
//			if _, err := c.Call("GetSessionInfo.json"); err != nil {
//				t.Fatal(err)
//			}
//			time.Sleep(3 * time.Hour) // virtual: returns at once; the client's timer fires 5 times
//			if _, err := c.Call("GetSessionInfo.json"); err != nil {
//				t.Fatal(err)
//			}
//			if got, want := s.Logins(), int64(1+180/34); got != want {
//				t.Errorf("Logins() = %d, want %d", got, want)
//			}
//		})
//	}
//
// (The complete test, with the client, is TestRunSynctest_renewingClient
// in example_test.go.)
//
// The limits are those of testing/synctest in Go 1.26, which offers only
// synctest.Test and synctest.Wait: the function must not call t.Run or
// t.Parallel; every goroutine it starts must end, or be blocked only on
// the bubble's channels and timers, by the time it returns; a server made
// outside the bubble cannot be used inside it; and Examples and
// benchmarks cannot open a bubble (benchmarks may still use NewInMemory,
// in real time).
package sessiontest
