// Command fakebill runs a fake Bill.com v2 API server, and checks that an
// API client logs in again when its session expires and never puts a
// secret in a URL.
//
// Usage:
//
//	fakebill [serve] [flags]        run the fake server (the default)
//	fakebill conform [flags] -- CMD run the conformance catalog against an adapter
//	fakebill audit [flags]          check a journal file or a running server
//	fakebill health [-url URL]      exit 0 if the server answers
//	fakebill version                print the version
//	fakebill help                   print this summary
//
// # Serve
//
// fakebill serve answers the v2 API under /api/v2 and a control API under
// /_fakebill. Given no account it serves the published demo account
// (userName demo@example.com, password demo-password, orgId
// 00800000000000000001, devKey demo-dev-key) and prints it once on
// standard output, after the one line that names the listening URL. Each
// request is logged on standard error; no log line holds a secret.
// SIGINT or SIGTERM shuts the server down cleanly.
//
// Every flag can also be set in the environment as FAKEBILL_ and the flag
// name in upper case with dashes as underscores (FAKEBILL_ADDR,
// FAKEBILL_IDLE_TIMEOUT). A flag wins over the environment, which wins
// over the default. The environment applies to serve only, which warns
// about a FAKEBILL_ variable that sets nothing.
//
// The -addr flag is the address to listen on, 127.0.0.1:8080 by default;
// a container passes :8080, and :0 picks a free port. The -ready-file flag
// names a file that receives the v2 base URL once the server listens; it is
// written atomically and removed at shutdown, so a script can wait for it.
//
// The -accounts flag reads the accepted accounts from a JSON file holding
// an array of objects with userName, password, orgId, devKey and,
// optionally, usersId and orgName. Alternatively -user-name, -password,
// -org-id and -dev-key, all four together, give a single account.
//
// The -idle-timeout flag sets how long an unused session stays valid,
// 35m by default. The -clock flag is real (wall time plus an offset the
// control API moves, the default) or manual (frozen until moved, starting
// at -start-time, an RFC 3339 time, 2026-01-01T00:00:00Z by default).
//
// The -tls flag serves HTTPS with a self-signed certificate made at start
// for 127.0.0.1, ::1, localhost and the hosts of -addr and -public-url;
// -tls-cert and -tls-key supply a certificate instead. The certificate is
// served at /_fakebill/cert, and -tls-write-cert writes it to a file.
//
// The -journal flag writes every request's journal entry to a file as
// JSON lines (the file is truncated at start); -journal-size sets how many
// entries the in-memory journal keeps, 100000 by default. The -fixtures
// flag loads canned answers from a directory: DIR/Crud/Read/Vendor.json
// answers that operation.
//
// The -prefix flag moves the v2 API (default /api/v2); -public-url is the
// base URL Login returns as apiEndPoint when clients reach the server under
// another name. The -leaks flag is refuse (answer a secret in a URL with
// HTTP 400, the default) or record (journal it and proceed).
// -strict-endpoints answers operations with no fixture with BDC_1121;
// -single-session makes a login end the account's older sessions;
// -refresh success resets the idle timer only on successful calls;
// -max-sessions and -max-body cap live sessions and request bodies.
//
// The control API is on by default; -admin=false turns it off except for
// /_fakebill/health, and -admin-token requires that bearer token. The
// -log-format flag is text or json and -log-level is debug, info, warn or
// error.
//
// # Conform and audit
//
// fakebill conform runs the conformance catalog against a client in any
// language, driven through an adapter command that speaks the protocol in
// docs/ADAPTER.md; fakebill audit checks a journal, from a file or a
// running server, for what traffic alone can show. Run either with -h for
// its flags.
//
// # Health
//
// fakebill health asks a server's /_fakebill/health and exits 0 when it
// answers ok, 1 otherwise. The server comes from -url (its scheme and
// host: a path, such as that of the v2 base URL in a ready file, is
// ignored), else from FAKEBILL_ADDR, else from the default address; it
// uses https when FAKEBILL_TLS is true, and skips certificate
// verification. A container built FROM scratch uses it as its health check.
//
// # Example
//
// Serve the demo account, log in, let the session idle for 35 minutes of
// server time, and see the next call refused:
//
//	$ fakebill -ready-file /tmp/fakebill.url &
//	$ curl -s -X POST http://127.0.0.1:8080/api/v2/Login.json \
//	    -d userName=demo@example.com -d password=demo-password \
//	    -d orgId=00800000000000000001 -d devKey=demo-dev-key
//	$ curl -s -X POST http://127.0.0.1:8080/_fakebill/clock/advance -d '{"by":"35m"}'
//	$ curl -s -X POST http://127.0.0.1:8080/api/v2/GetSessionInfo.json \
//	    -d devKey=demo-dev-key -d sessionId=SESSION
//	{"response_status":1,"response_message":"Error","response_data":{"error_code":"BDC_1109",...}}
//
// Run it in a container built FROM scratch, healthy once it answers:
//
//	$ CGO_ENABLED=0 go build -o dist/fakebill ./cmd/fakebill
//	$ docker build -t fakebill .
//	$ docker run -d -p 127.0.0.1:8080:8080 fakebill
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
)

func main() {
	log.SetPrefix("fakebill: ")
	log.SetFlags(0)
	os.Exit(run(context.Background(), os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// lookupEnv reads one environment variable, as os.LookupEnv does; tests
// pass a map instead.
type lookupEnv func(key string) (string, bool)

const usage = `usage:
  fakebill [serve] [flags]        run the fake server (the default)
  fakebill conform [flags] -- CMD run the conformance catalog against an adapter
  fakebill audit [flags]          check a journal file or a running server
  fakebill health [-url URL]      exit 0 if the server answers
  fakebill version                print the version
  fakebill help                   print this summary

Run "fakebill serve -h" for the server's flags.
`

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return runServe(ctx, args, env, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], env, stdout, stderr)
	case "conform":
		return runConform(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "health":
		return runHealth(ctx, args[1:], env, stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "fakebill: unknown command %q\n%s", args[0], usage)
	return 2
}
