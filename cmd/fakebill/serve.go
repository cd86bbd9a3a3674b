package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// defaultAddr is where serve listens and health looks by default: loopback
// only, since a test tool has no business on other interfaces unless asked.
const defaultAddr = "127.0.0.1:8080"

// Server timeouts. Header and body reads are bounded so a silent or
// stalled client cannot hold a connection (a body that stops short gets
// a 400 envelope when the read deadline passes); the header cap is generous so that oversized headers reach
// the handler and get a v2 envelope instead of net/http's plain 431.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	idleConnTimeout   = 2 * time.Minute
	maxHeaderBytes    = 1 << 20
	shutdownTimeout   = 5 * time.Second
)

// serveConfig is the parsed serve command line.
type serveConfig struct {
	addr         string
	readyFile    string
	accountsFile string
	account      fakebill.Account // from -user-name, -password, -org-id, -dev-key
	idleTimeout  time.Duration
	clock        choice
	startTime    time.Time
	tls          bool
	tlsCert      string
	tlsKey       string
	tlsWriteCert string
	journal      string
	journalSize  int
	fixtures     string
	prefix       string
	publicURL    string
	leaks        choice
	strict       bool
	single       bool
	refresh      choice
	maxSessions  int
	maxBody      int64
	admin        bool
	adminToken   string
	logFormat    choice
	logLevel     slog.Level

	set map[string]bool // flags given on the command line or in the environment
}

// choice is a string flag restricted to a few values.
type choice struct {
	value   string
	allowed []string
}

// oneOf is a choice among allowed, defaulting to the first.
func oneOf(allowed ...string) choice { return choice{allowed[0], allowed} }

func (c *choice) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

func (c *choice) Set(s string) error {
	if !slices.Contains(c.allowed, s) {
		return fmt.Errorf("want %s", strings.Join(c.allowed, " or "))
	}
	c.value = s
	return nil
}

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return "FAKEBILL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// serveFlags defines the serve flags on a new FlagSet, bound to c.
func serveFlags(c *serveConfig, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fakebill serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, "usage: fakebill [serve] [flags]\n\n"+
			"Each flag can also be set as FAKEBILL_<FLAG> (FAKEBILL_IDLE_TIMEOUT=10m).\n\n")
		fs.PrintDefaults()
	}

	c.clock = oneOf("real", "manual")
	c.leaks = oneOf(string(fakebill.LeakRefuse), string(fakebill.LeakRecord))
	c.refresh = oneOf(string(fakebill.RefreshAny), string(fakebill.RefreshSuccess))
	c.logFormat = oneOf("text", "json")

	fs.StringVar(&c.addr, "addr", defaultAddr, "listen on `host:port` (:0 picks a port)")
	fs.StringVar(&c.readyFile, "ready-file", "", "write the v2 base URL to `file` once listening")
	fs.StringVar(&c.accountsFile, "accounts", "", "read the accounts from a JSON `file`")
	fs.StringVar(&c.account.UserName, "user-name", "", "userName of the single account")
	fs.StringVar(&c.account.Password, "password", "", "password of the single account")
	fs.StringVar(&c.account.OrgID, "org-id", "", "orgId of the single account")
	fs.StringVar(&c.account.DevKey, "dev-key", "", "devKey of the single account")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", fakebill.DefaultIdleTimeout, "idle `time` after which a session is invalid")
	fs.Var(&c.clock, "clock", "clock `mode`: real or manual")
	fs.TextVar(&c.startTime, "start-time", fakebill.DefaultStartTime, "RFC 3339 `time` a manual clock starts at")
	fs.BoolVar(&c.tls, "tls", false, "serve HTTPS with a self-signed certificate")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `file` (needs -tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "private key `file` of -tls-cert")
	fs.StringVar(&c.tlsWriteCert, "tls-write-cert", "", "write the served certificate to `file` as PEM")
	fs.StringVar(&c.journal, "journal", "", "write the journal to `file` as JSON lines")
	fs.IntVar(&c.journalSize, "journal-size", fakebill.DefaultJournalSize, "`entries` the in-memory journal keeps")
	fs.StringVar(&c.fixtures, "fixtures", "", "load fixtures from `dir`")
	fs.StringVar(&c.prefix, "prefix", fakebill.DefaultPrefix, "`path` of the v2 API")
	fs.StringVar(&c.publicURL, "public-url", "", "v2 base `URL` Login returns as apiEndPoint")
	fs.Var(&c.leaks, "leaks", "`mode` for secrets in URLs: refuse or record")
	fs.BoolVar(&c.strict, "strict-endpoints", false, "answer operations with no fixture with BDC_1121")
	fs.BoolVar(&c.single, "single-session", false, "a login ends the account's older sessions")
	fs.Var(&c.refresh, "refresh", "`calls` that reset the idle timer: any or success")
	fs.IntVar(&c.maxSessions, "max-sessions", fakebill.DefaultMaxSessions, "live `sessions` allowed")
	fs.Int64Var(&c.maxBody, "max-body", fakebill.DefaultMaxBody, "request body limit in `bytes`")
	fs.BoolVar(&c.admin, "admin", true, "serve the control API under /_fakebill")
	fs.StringVar(&c.adminToken, "admin-token", "", "bearer `token` the control API requires")
	fs.Var(&c.logFormat, "log-format", "log `format`: text or json")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	return fs
}

// parseServe reads the serve flags: defaults, then the environment, then
// args. Errors name the flag or variable at fault, never a secret value.
func parseServe(args []string, env lookupEnv, out io.Writer) (*serveConfig, error) {
	c := &serveConfig{set: map[string]bool{}}
	fs := serveFlags(c, out)

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		key := envName(f.Name)
		v, ok := env(key)
		if !ok || v == "" || envErr != nil {
			return // an empty variable counts as unset, as compose files leave them
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("invalid %s=%q: %s", key, v, want(f, err))
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, reportedError{err} // the FlagSet has printed it
	}
	if fs.NArg() > 0 {
		// Not quoted: after "-password -x", the password is the argument.
		return nil, fmt.Errorf("serve takes no arguments, got %d after the flags", fs.NArg())
	}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// reportedError is an error already shown to the user with the usage.
type reportedError struct{ err error }

func (e reportedError) Error() string { return e.err.Error() }
func (e reportedError) Unwrap() error { return e.err }

// want explains what a flag accepts when a value for it failed to parse.
// The flag package's own errors for numbers and durations say only "parse
// error".
func want(f *flag.Flag, err error) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return err.Error()
	}
	switch g.Get().(type) {
	case bool:
		return "want true or false"
	case time.Duration:
		return "want a duration such as 35m"
	case int, int64:
		return "want an integer"
	}
	return err.Error()
}

// check refuses combinations in which a flag would have no effect.
func (c *serveConfig) check() error {
	single := []string{"user-name", "password", "org-id", "dev-key"}
	var given, missing []string
	for _, name := range single {
		if c.set[name] {
			given = append(given, "-"+name)
		} else {
			missing = append(missing, "-"+name)
		}
	}
	switch {
	case len(given) > 0 && c.set["accounts"]:
		return fmt.Errorf("-accounts and %s exclude each other", strings.Join(given, ", "))
	case len(given) > 0 && len(missing) > 0:
		return fmt.Errorf("%s also need %s", strings.Join(given, ", "), strings.Join(missing, ", "))
	case c.set["start-time"] && c.clock.value != "manual":
		return errors.New("-start-time needs -clock manual")
	case c.set["tls-cert"] != c.set["tls-key"]:
		return errors.New("-tls-cert and -tls-key go together")
	case c.set["tls-write-cert"] && !c.tlsOn():
		return errors.New("-tls-write-cert needs -tls or -tls-cert")
	case c.set["admin-token"] && !c.admin:
		return errors.New("-admin-token has no effect with -admin=false")
	case c.idleTimeout <= 0:
		return errors.New("-idle-timeout must be positive")
	case c.journalSize <= 0:
		return errors.New("-journal-size must be positive")
	case c.maxSessions <= 0:
		return errors.New("-max-sessions must be positive")
	case c.maxBody <= 0:
		return errors.New("-max-body must be positive")
	}
	if c.publicURL != "" {
		u, err := url.Parse(c.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-public-url %q is not an http or https URL", c.publicURL)
		}
	}
	return nil
}

// tlsOn reports whether the server speaks HTTPS.
func (c *serveConfig) tlsOn() bool { return c.tls || c.tlsCert != "" }

// scheme is the URL scheme the server answers.
func (c *serveConfig) scheme() string {
	if c.tlsOn() {
		return "https"
	}
	return "http"
}

// runServe runs the server until SIGINT or SIGTERM.
func runServe(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	for _, name := range unknownEnv(os.Environ()) {
		fmt.Fprintf(stderr, "fakebill: %s is not a serve setting; ignored\n", name)
	}
	return serve(ctx, args, env, stdout, stderr, nil)
}

// unknownEnv lists the FAKEBILL_ variables in environ that set no serve
// flag, most likely misspelt ones. FAKEBILL_URL, which conform hands to
// adapters, is not a mistake.
func unknownEnv(environ []string) []string {
	known := map[string]bool{"FAKEBILL_URL": true}
	serveFlags(new(serveConfig), io.Discard).VisitAll(func(f *flag.Flag) {
		known[envName(f.Name)] = true
	})
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "FAKEBILL_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	return unknown
}

// hooks let tests watch a running server; the binary passes nil.
type hooks struct {
	ready     func(baseURL string)           // once listening
	connState func(net.Conn, http.ConnState) // as http.Server.ConnState
}

// serve runs the server until ctx is done and returns the exit status:
// 2 for a bad command line or configuration, 1 when serving fails.
func serve(ctx context.Context, args []string, env lookupEnv, stdout, stderr io.Writer, h *hooks) int {
	c, err := parseServe(args, env, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if !errors.As(err, new(reportedError)) {
			complain(stderr, err)
		}
		return 2
	}
	logger := c.logger(stderr)

	// Build the server; every failure here is the configuration's.
	a, err := c.build(logger)
	if err != nil {
		complain(stderr, err)
		return 2
	}
	defer a.close()

	// Listen, then tell the world.
	if c.readyFile != "" {
		os.Remove(c.readyFile) // a stale file must not announce this run
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		complain(stderr, err)
		return 1
	}
	baseURL := c.scheme() + "://" + c.dialAddr(ln.Addr()) + a.prefix
	if err := a.announce(c, baseURL, stdout); err != nil {
		ln.Close()
		complain(stderr, err)
		return 1
	}
	if c.readyFile != "" {
		defer os.Remove(c.readyFile)
	}

	// Serve until the context ends, then drain.
	if h == nil {
		h = new(hooks)
	}
	return a.run(ctx, ln, c.tlsOn(), logger, baseURL, h)
}

// app is a configured server and what it holds open.
type app struct {
	srv     *fakebill.Server
	prefix  string
	demo    bool
	tls     *tls.Config
	certPEM []byte
	journal *os.File
}

// logger builds the request logger on w.
func (c *serveConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat.value == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// build turns the configuration into a server: accounts, clock, TLS,
// journal file and fixtures.
func (c *serveConfig) build(logger *slog.Logger) (*app, error) {
	a := &app{prefix: c.prefix}
	opts := fakebill.Options{
		IdleTimeout:     c.idleTimeout,
		Prefix:          c.prefix,
		PublicURL:       c.publicURL,
		Leaks:           fakebill.LeakMode(c.leaks.value),
		StrictEndpoints: c.strict,
		SingleSession:   c.single,
		Refresh:         fakebill.Refresh(c.refresh.value),
		MaxSessions:     c.maxSessions,
		MaxBody:         c.maxBody,
		JournalSize:     c.journalSize,
		AdminDisabled:   !c.admin,
		AdminToken:      c.adminToken,
		Logger:          logger,
	}

	accounts, err := c.accounts()
	if err != nil {
		return nil, err
	}
	opts.Accounts = accounts
	a.demo = accounts == nil

	if c.clock.value == "manual" {
		opts.Clock = fakebill.NewManualClock(c.startTime)
	} else {
		opts.Clock = new(fakebill.OffsetClock)
	}

	if err := a.setupTLS(c); err != nil {
		return nil, err
	}
	opts.CertPEM = a.certPEM

	if c.journal != "" {
		f, err := os.Create(c.journal)
		if err != nil {
			return nil, fmt.Errorf("-journal: %w", err)
		}
		a.journal = f
		opts.JournalWriter = f
	}

	srv, err := fakebill.NewServer(opts)
	if err != nil {
		a.close()
		return nil, err
	}
	a.srv = srv
	if c.fixtures != "" {
		if err := srv.LoadFixtures(c.fixtures); err != nil {
			a.close()
			return nil, fmt.Errorf("-fixtures: %w", err)
		}
	}
	return a, nil
}

// accounts returns the configured accounts, or nil for the demo account.
func (c *serveConfig) accounts() ([]fakebill.Account, error) {
	if c.set["user-name"] {
		return []fakebill.Account{c.account}, nil
	}
	if c.accountsFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(c.accountsFile)
	if err != nil {
		return nil, fmt.Errorf("-accounts: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt key would silently drop a credential
	var accounts []fakebill.Account
	if err := dec.Decode(&accounts); err != nil {
		// The decoder names fields and offsets, never values.
		return nil, fmt.Errorf("-accounts %s: %v", c.accountsFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("-accounts %s: more than one JSON value", c.accountsFile)
	}
	if len(accounts) == 0 {
		return nil, fmt.Errorf("-accounts %s: no accounts", c.accountsFile)
	}
	return accounts, nil
}

// setupTLS loads or makes the certificate when the server speaks HTTPS.
func (a *app) setupTLS(c *serveConfig) error {
	if !c.tlsOn() {
		return nil
	}
	var cert tls.Certificate
	var err error
	if c.tlsCert != "" {
		cert, a.certPEM, err = loadCert(c.tlsCert, c.tlsKey)
	} else {
		addrHost, _, _ := net.SplitHostPort(c.addr)
		var publicHost string
		if u, perr := url.Parse(c.publicURL); perr == nil {
			publicHost = u.Hostname()
		}
		cert, a.certPEM, err = selfSignedCert(certHosts(addrHost, publicHost), time.Now())
	}
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	a.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return nil
}

// announce writes the certificate file, prints the listening URL (and the
// demo account when it is served), then writes the ready file, last, so
// that whoever waits for it finds everything else in place.
func (a *app) announce(c *serveConfig, baseURL string, stdout io.Writer) error {
	if c.tlsWriteCert != "" {
		if err := writeFileAtomic(c.tlsWriteCert, a.certPEM); err != nil {
			return fmt.Errorf("-tls-write-cert: %w", err)
		}
	}
	fmt.Fprintf(stdout, "fakebill: serving %s\n", baseURL)
	if a.demo {
		d := fakebill.DemoAccount
		fmt.Fprintf(stdout, "fakebill: demo account userName=%s password=%s orgId=%s devKey=%s\n",
			d.UserName, d.Password, d.OrgID, d.DevKey)
	}
	if c.readyFile != "" {
		if err := writeFileAtomic(c.readyFile, []byte(baseURL+"\n")); err != nil {
			return fmt.Errorf("-ready-file: %w", err)
		}
	}
	return nil
}

// run serves on ln until ctx is done, then shuts down, giving in-flight
// requests shutdownTimeout to finish. It returns the exit status.
func (a *app) run(ctx context.Context, ln net.Listener, useTLS bool, logger *slog.Logger, baseURL string, h *hooks) int {
	// Request contexts derive from base, so cancelling it at shutdown ends
	// long polls (GET /_fakebill/journal?wait=) at once.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	hs := &http.Server{
		Handler:           a.srv,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleConnTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         a.tls,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnState:         h.connState,
	}
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if h.ready != nil {
		h.ready(baseURL)
	}

	select {
	case err := <-errc:
		logger.Error("serving failed", "err", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	cancelBase()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		logger.Warn("shutdown cut short", "err", err)
	}
	<-errc // http.ErrServerClosed
	return 0
}

// close releases what the app holds open.
func (a *app) close() {
	if a.journal != nil {
		a.journal.Close()
		a.journal = nil
	}
}

// dialAddr is the host:port a local client dials to reach the listener:
// the host asked for in -addr (loopback when it names every interface,
// since the listener's own "[::]" may not be dialable in a container) and
// the port the listener got.
func (c *serveConfig) dialAddr(addr net.Addr) string {
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return addr.String()
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return net.JoinHostPort(dialHost(host), port)
}

// writeFileAtomic writes data to name through a temporary file in the same
// directory and a rename, so a reader never sees a partial file.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".fakebill-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// complain prints err on w with the command's prefix, once: errors from
// package fakebill carry it already.
func complain(w io.Writer, err error) {
	fmt.Fprintf(w, "fakebill: %s\n", strings.TrimPrefix(err.Error(), "fakebill: "))
}
