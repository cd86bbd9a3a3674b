// Command fakebill-load puts a running fakebill under load, or soaks it,
// and reports what the server did. It talks to loopback only: it refuses
// a -url whose host is not a loopback address, dials nothing else and
// ignores proxy settings.
//
// Usage:
//
//	fakebill-load [flags] -url http://127.0.0.1:8080/api/v2
//	fakebill-load [flags] -spawn ./fakebill [-- server flags]
//
// With -url it drives a fakebill that is already running; the URL is its
// v2 base URL as the server prints it (a bare root means /api/v2). With
// -spawn it starts the fakebill binary at that path on 127.0.0.1:0 with a
// manual clock and quiet logs, waits for its ready file, and stops it at
// the end; flags after -- go to the server.
//
// A load run starts -clients concurrent clients. Each logs in, calls
// (GetSessionInfo, Crud/Read/Vendor, List/Vendor), logs out and in again
// every -calls-per-login calls, and puts its session id in the URL of a
// -leak-fraction of its calls, which the server must refuse and answer by
// ending the session. Every -advance-every requests the server's clock
// moves by -advance (past the idle timeout), so that sessions expire and
// the clients must log in again. -idle-sessions logs in that many times
// before the run, sessions nobody uses; -think pauses between one client's
// requests. The run ends after -requests requests or -duration, whichever
// comes first. The report gives throughput, latency percentiles by
// operation, outcomes by kind, and the server's heap in use before and
// after (GET /_fakebill/stats, after DELETE /_fakebill/journal).
//
// A soak run (-soak) makes -sessions sessions, moves the clock past twice
// the idle timeout, makes the server sweep them, and checks that its heap
// in use returns to its baseline: what stays must be at most -tolerance of
// what the sessions took. It repeats for -cycles cycles or -duration.
//
// The exit status is 0 when the run had no unexpected error (and, in soak
// mode, the heap came back), 1 when it had, and 2 for a bad command line
// or a server that could not be reached or started. -json FILE writes the
// report as JSON; "-json -" writes it to standard output instead of the
// text report.
//
// # Example
//
//	go build -o /tmp/fakebill ./cmd/fakebill
//	go run ./cmd/fakebill-load -spawn /tmp/fakebill -clients 16 -requests 200000
//	go run ./cmd/fakebill-load -spawn /tmp/fakebill -soak -sessions 1000000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log.SetPrefix("fakebill-load: ")
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options is the parsed command line.
type options struct {
	url, spawn, token, jsonOut string
	spawnWait                  time.Duration
	serverArgs                 []string
	soak                       bool
	load                       loadConfig
	soakCfg                    soakConfig
}

// parse reads the command line; usage errors are printed on stderr.
func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("fakebill-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: fakebill-load [flags] (-url URL | -spawn PATH [-- server flags])\n\n")
		fs.PrintDefaults()
	}
	l, s := &o.load, &o.soakCfg
	fs.StringVar(&o.url, "url", "", "v2 base `URL` of a running fakebill on loopback")
	fs.StringVar(&o.spawn, "spawn", "", "start the fakebill binary at `path` on 127.0.0.1:0")
	fs.DurationVar(&o.spawnWait, "spawn-wait", 10*time.Second,
		"how long to wait for a spawned server to be ready")
	fs.StringVar(&o.token, "admin-token", "", "bearer `token` of the control API")
	fs.StringVar(&o.jsonOut, "json", "", "write the report as JSON to `file` (- for stdout)")
	fs.IntVar(&l.clients, "clients", 8, "concurrent `clients`")
	fs.Int64Var(&l.requests, "requests", 20_000, "stop after this many `requests`")
	fs.DurationVar(&l.duration, "duration", time.Minute, "stop after this much `time`")
	fs.IntVar(&l.callsPerLogin, "calls-per-login", 50,
		"`calls` before a client logs out and in again (0: never)")
	fs.Float64Var(&l.leakFraction, "leak-fraction", 0.01,
		"`share` of calls with the session id in the URL")
	fs.Int64Var(&l.advanceEvery, "advance-every", 5_000,
		"move the clock every this many `requests` (0: never)")
	fs.DurationVar(&l.advanceBy, "advance", 36*time.Minute, "how far each clock move goes")
	fs.IntVar(&l.idleSessions, "idle-sessions", 0,
		"`sessions` to make before the run and leave idle")
	fs.DurationVar(&l.think, "think", 0, "pause between one client's requests")
	fs.Uint64Var(&l.seed, "seed", 1, "random `seed` of the clients' choices")
	fs.BoolVar(&o.soak, "soak", false, "soak: make sessions, expire them, check the heap returns")
	fs.IntVar(&s.sessions, "sessions", 100_000, "sessions per soak `cycle`")
	fs.IntVar(&s.cycles, "cycles", 1, "soak `cycles`")
	fs.DurationVar(&s.idleTimeout, "idle-timeout", 35*time.Minute, "the server's idle timeout")
	fs.Float64Var(&s.tolerance, "tolerance", 0.10,
		"`share` of the sessions' heap that may stay after the sweep")
	acct := demo
	fs.StringVar(&acct.UserName, "user-name", demo.UserName, "userName to log in with")
	fs.StringVar(&acct.Password, "password", demo.Password, "password to log in with")
	fs.StringVar(&acct.OrgID, "org-id", demo.OrgID, "orgId to log in with")
	fs.StringVar(&acct.DevKey, "dev-key", demo.DevKey, "devKey to log in with")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.serverArgs = fs.Args()
	l.acct, s.acct = acct, acct
	s.clients, s.duration = l.clients, l.duration

	switch {
	case (o.url == "") == (o.spawn == ""):
		return nil, errors.New("give exactly one of -url and -spawn")
	case len(o.serverArgs) > 0 && o.spawn == "":
		return nil, fmt.Errorf(
			"unexpected argument %q (server flags go after -- with -spawn)", o.serverArgs[0])
	case l.clients < 1 || l.requests < 1 || l.duration <= 0:
		return nil, errors.New("-clients, -requests and -duration must be positive")
	case l.leakFraction < 0 || l.leakFraction > 1 || l.callsPerLogin < 0 || l.advanceEvery < 0:
		return nil, errors.New(
			"-leak-fraction must be in [0,1]; -calls-per-login and -advance-every not negative")
	case l.advanceBy <= 0 || l.idleSessions < 0 || l.think < 0:
		return nil, errors.New("-advance must be positive; -idle-sessions and -think not negative")
	case s.sessions < 1 || s.cycles < 1 || s.idleTimeout <= 0 || s.tolerance < 0:
		return nil, errors.New(
			"-sessions, -cycles and -idle-timeout must be positive; -tolerance not negative")
	}
	if o.spawn != "" {
		o.serverArgs = append(o.serverArgs, "-idle-timeout", s.idleTimeout.String())
	}
	return o, nil
}

// run is the whole command; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "fakebill-load: %v\n", err)
		return 2
	}
	raw := o.url
	if o.spawn != "" {
		srv, base, err := spawn(o.spawn, o.serverArgs, o.spawnWait, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "fakebill-load: %v\n", err)
			return 2
		}
		defer srv.stop()
		raw = base
	}
	t, err := newTarget(raw, o.token, o.load.clients)
	if err != nil {
		fmt.Fprintf(stderr, "fakebill-load: %v\n", err)
		return 2
	}

	var rep *report
	if o.soak {
		rep, err = runSoak(ctx, t, o.soakCfg)
	} else {
		rep, err = runLoad(ctx, t, o.load)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fakebill-load: %v\n", err)
		return 2
	}
	if o.jsonOut != "-" {
		rep.writeText(stdout)
	}
	if o.jsonOut != "" {
		if err := writeJSON(o.jsonOut, rep, stdout); err != nil {
			fmt.Fprintf(stderr, "fakebill-load: -json: %v\n", err)
			return 2
		}
	}
	if !rep.ok() {
		return 1
	}
	return 0
}

func writeJSON(name string, rep *report, stdout io.Writer) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if name == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
