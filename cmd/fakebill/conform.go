package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fakebill/toolkit/conformance"
	"github.com/fakebill/toolkit/fakebill"
	"github.com/fakebill/toolkit/internal/adapter"
	"github.com/fakebill/toolkit/internal/report"
	"github.com/fakebill/toolkit/internal/version"
)

const conformUsage = `usage: fakebill conform [flags] -- CMD [ARGS...]

Runs the conformance catalog against a Bill.com v2 client driven by the
adapter command CMD, which speaks the protocol in docs/ADAPTER.md. Each
check starts a fresh fake on loopback and a fresh CMD. The text report
goes to standard output.

Exit status: 0 every enforced check passed; 1 a MUST check failed (or a
SHOULD check under -strict); 2 nothing could be judged.

Flags:
`

// reportFlags are the selection and report flags conform and audit share.
type reportFlags struct {
	only, skip string
	strict     bool
	baseline   string
	jsonFile   string
	junitFile  string
}

func (r *reportFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.only, "only", "", "run only these checks (comma-separated ids)")
	fs.StringVar(&r.skip, "skip", "", "skip these checks (comma-separated ids)")
	fs.BoolVar(&r.strict, "strict", false, "fail the run on a failed SHOULD check too")
	fs.StringVar(&r.baseline, "baseline", "", "`file` of check ids known to fail, one per line; # starts a comment")
	fs.StringVar(&r.jsonFile, "json", "", "write a JSON report to `file`")
	fs.StringVar(&r.junitFile, "junit", "", "write a JUnit XML report to `file`")
}

// ids splits a comma-separated list of check ids.
func ids(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// writeReports applies the baseline, then writes the text report to
// stdout and the files the flags name. It returns the exit status.
func (r *reportFlags) writeReports(rep *report.Report, baseline []string, stdout, stderr io.Writer) int {
	rep.Results, rep.Fixed = report.ApplyBaseline(rep.Results, baseline)
	rep.Strict = r.strict
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "fakebill %s: writing the report: %v\n", rep.Suite, err)
		return 2
	}
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{{r.jsonFile, rep.WriteJSON}, {r.junitFile, rep.WriteJUnit}} {
		if out.name == "" {
			continue
		}
		if err := writeReportFile(out.name, out.write); err != nil {
			fmt.Fprintf(stderr, "fakebill %s: %v\n", rep.Suite, err)
			return 2
		}
	}
	return rep.ExitCode()
}

func writeReportFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Close()
}

// errShown is an error the flag package has already printed.
type errShown struct{ error }

func (e errShown) Unwrap() error { return e.error }

// conformConfig is what the conform flags say.
type conformConfig struct {
	reportFlags
	list       bool
	timeout    time.Duration
	runTimeout time.Duration
	cmd        []string
}

func parseConform(args []string, stderr io.Writer) (*conformConfig, error) {
	c := &conformConfig{}
	fs := flag.NewFlagSet("conform", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, conformUsage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.list, "list", false, "print the check catalog and exit")
	c.register(fs)
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "longest wait for one answer from the adapter")
	fs.DurationVar(&c.runTimeout, "run-timeout", 10*time.Minute, "longest the whole run may take")
	if err := fs.Parse(args); err != nil {
		return nil, errShown{err}
	}
	c.cmd = fs.Args()
	switch {
	case c.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case c.runTimeout <= 0:
		return nil, errors.New("-run-timeout must be positive")
	case len(c.cmd) == 0 && !c.list:
		return nil, errors.New("no adapter command: give it after --, as in: fakebill conform -- python3 adapter.py")
	}
	return c, nil
}

// runConform runs the catalog against an adapter command and returns the
// exit status.
func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseConform(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if !errors.As(err, new(errShown)) {
			fmt.Fprintf(stderr, "fakebill conform: %v\n", err)
		}
		return 2
	}
	catalog := conformance.Checks()
	if c.list {
		printCatalog(stdout, catalog)
		return 0
	}
	var baseline []string
	if c.baseline != "" {
		if baseline, err = report.ReadBaseline(c.baseline, catalog); err != nil {
			fmt.Fprintf(stderr, "fakebill conform: %v\n", err)
			return 2
		}
	}

	// Adapters run in process groups of their own, out of reach of the
	// terminal's Ctrl-C: an interrupt must end the run, which kills them.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.runTimeout)
	defer cancel()
	a := &adapter.Adapter{Args: c.cmd, Timeout: c.timeout}
	caps, err := probe(ctx, a, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fakebill conform: %v\n", err)
		return 2
	}
	if caps.API != "v2" {
		fmt.Fprintf(stderr, "fakebill conform: the adapter speaks API %q; "+
			"this release checks v2 clients only (v3 is reserved for a later release)\n", caps.API)
		return 2
	}

	// The runner waits a little longer than the adapter does, so that a
	// hang is reported as the adapter's (and the process killed) first.
	opts := &conformance.Options{Only: ids(c.only), Skip: ids(c.skip), CallTimeout: c.timeout + time.Second}
	results, err := evaluate(ctx, a.Subject(ctx, caps), opts, c.timeout)
	if err != nil {
		fmt.Fprintf(stderr, "fakebill conform: %v\n", err)
		return 2
	}
	rep := &report.Report{
		Tool: version.Tool, Catalog: conformance.CatalogVersion, Suite: "conform",
		Results: results, Redactor: report.NewRedactor(a.Secrets()...),
	}
	return c.writeReports(rep, baseline, stdout, stderr)
}

// evaluate runs conformance.Evaluate, but returns by the run's deadline
// plus a grace even if a check does not: every check then fails.
func evaluate(ctx context.Context, s conformance.Subject, opts *conformance.Options,
	grace time.Duration) ([]conformance.Result, error) {
	type outcome struct {
		results []conformance.Result
		err     error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := conformance.Evaluate(ctx, s, opts)
		done <- outcome{r, err}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		t := time.NewTimer(grace + adapter.CloseGrace)
		defer t.Stop()
		select {
		case o = <-done:
		case <-t.C:
			// TODO(fakebill): the abandoned Evaluate goroutine runs on
			// until the process exits.
			return timedOut(opts), nil
		}
	}
	return o.results, o.err
}

// timedOut fails every check opts selects, for a run that never ended.
func timedOut(opts *conformance.Options) []conformance.Result {
	var out []conformance.Result
	for _, c := range conformance.Checks() {
		if passive(c) || contains(opts.Skip, c) || (len(opts.Only) > 0 && !contains(opts.Only, c)) {
			continue
		}
		out = append(out, conformance.Result{Check: c, Status: conformance.Fail,
			Details: []string{"the run timed out (-run-timeout) before this check ended"}})
	}
	return out
}

func contains(list []string, c conformance.Check) bool {
	for _, id := range list {
		if id == c.ID {
			return true
		}
		for _, a := range c.Aliases {
			if id == a {
				return true
			}
		}
	}
	return false
}

func passive(c conformance.Check) bool {
	for _, n := range c.Needs {
		if n == conformance.CapPassive {
			return true
		}
	}
	return false
}

// printCatalog lists every check: id, level, what judges it, and reason.
func printCatalog(w io.Writer, catalog []conformance.Check) {
	width := 0
	for _, c := range catalog {
		width = max(width, len(c.ID))
	}
	for _, c := range catalog {
		by := "conform"
		if passive(c) {
			by = "audit"
		}
		fmt.Fprintf(w, "%-*s  %-6s  %-7s  %s\n", width, c.ID, c.Level, by, c.Reason)
	}
	fmt.Fprintf(w, "\ncatalog %s, %s; run with -only or -skip to select by id\n", conformance.CatalogVersion, version.Tool)
}

// probe starts the adapter once against a fake of its own to read its
// capabilities. On failure it shows the adapter's stderr, redacted.
func probe(ctx context.Context, a *adapter.Adapter, stderr io.Writer) (adapter.Capabilities, error) {
	acct := probeAccount()
	fake, err := fakebill.NewServer(fakebill.Options{Accounts: []fakebill.Account{acct}})
	if err != nil {
		return adapter.Capabilities{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return adapter.Capabilities{}, err
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	log := &tailBuffer{max: 4 << 10}
	caps, err := a.Probe(ctx, conformance.Env{
		BaseURL:  "http://" + ln.Addr().String() + fakebill.DefaultPrefix,
		UserName: acct.UserName, Password: acct.Password, OrgID: acct.OrgID, DevKey: acct.DevKey,
		Log: log,
	})
	if err != nil {
		if tail := log.String(); tail != "" {
			red := report.NewRedactor(a.Secrets()...)
			fmt.Fprintf(stderr, "fakebill conform: the adapter's stderr ended with:\n%s\n", red.Redact(tail))
		}
		return caps, fmt.Errorf("the adapter could not be started: %w", err)
	}
	return caps, nil
}

// probeAccount makes fresh random credentials in realistic shapes.
func probeAccount() fakebill.Account {
	return fakebill.Account{
		UserName: "probe-" + strings.ToLower(rand.Text()[:10]) + "@example.com",
		Password: rand.Text(),
		OrgID:    "008" + rand.Text()[:17],
		DevKey:   rand.Text(),
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimRight(string(b.buf), "\n")
}
