package fakebill

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fakebill/toolkit/internal/leak"
	"github.com/fakebill/toolkit/internal/session"
)

// controlPrefix is where the control API lives.
const controlPrefix = "/_fakebill"

// route is what an API operation is, for the pipeline's purposes.
type route int

const (
	routeGeneric route = iota
	routeLogin
	routeListOrgs
	routeLogout
	routeSessionInfo
	routeDocumentPages
)

// routes maps the operations with their own behaviour; every other *.json
// path is routeGeneric.
//
// TODO(fakebill): MFAChallenge, MFAAuthenticate and MFAStatus answer as
// generic calls; MFA-trusted sessions (BDC_1361 on PayBills and the like)
// exist only as injected faults.
// TODO(fakebill): the service's hourly (BDC_1144) and per-organization
// concurrency (BDC_1322) limits are not counted; inject them as faults.
var routes = map[string]route{
	"Login":            routeLogin,
	"ListOrgs":         routeListOrgs,
	"Logout":           routeLogout,
	"GetSessionInfo":   routeSessionInfo,
	"GetDocumentPages": routeDocumentPages,
}

// exchange is one API request on its way through the pipeline.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	entry Entry
	now   time.Time

	op      string
	known   bool // whether op is served
	route   route
	form    form
	formBuf [8]formField // form's fields, unless a request has more

	sessionID string // the session the request presents, "" if none
	hadCookie bool   // whether it carried a sid cookie
	acct      *Account
	acctN     int     // the account of the session presented, live or not; 0 if none
	creds     credSet // the credentials a call sent, by name or by value
	wrote     bool
	hdrScan   bool // whether a header value may hold a credential
}

// exchanges recycles exchanges: one is the largest object a request
// would leave to the garbage collector.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// ServeHTTP answers one request through the pipeline: leak check, route
// and method, faults, devKey, session, body, operation, journal.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var start time.Time
	if s.opts.Logger != nil {
		start = time.Now() // only the log line reports how long it took
	}
	rawPath := r.URL.EscapedPath()
	isControl := rawPath == controlPrefix || strings.HasPrefix(rawPath, controlPrefix+"/")
	underPrefix := rawPath == s.prefix || strings.HasPrefix(rawPath, s.prefix+"/")
	x := exchanges.Get().(*exchange)
	defer func() {
		*x = exchange{} // hold on to nothing of this request
		exchanges.Put(x)
	}()
	x.w, x.r = w, r

	// 1. Leak check, on every route.
	findings := s.detector.Scan(rawPath, r.URL.RawQuery, r.Header.Values("Referer")...)
	if r.URL.User != nil {
		// Only an absolute request-target ("http://u:p@host/...") has one.
		findings = append(s.detector.ScanUserinfo(r.URL.User), findings...)
	}
	journaled := underPrefix || len(findings) > 0
	if journaled {
		s.openEntry(x, rawPath, isControl, underPrefix, findings)
	}
	switch {
	case len(findings) > 0 && s.opts.Leaks == LeakRefuse:
		x.now = s.now()
		s.refuseLeak(x, findings)
	case isControl:
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		x.w = rec
		s.control.ServeHTTP(rec, r)
		x.entry.Status = rec.status
	case underPrefix:
		s.serveAPI(x)
	default:
		x.now = s.now()
		s.fail(x, http.StatusNotFound, CodeAPINotSupported, "")
	}

	if journaled {
		s.closeEntry(x)
	}
	if s.opts.Logger != nil {
		s.logRequest(r, x, rawPath, isControl, time.Since(start))
	}
}

// openEntry starts the journal entry of a request on its arrival; for an
// API request it also names the operation and counts the call.
func (s *Server) openEntry(x *exchange, rawPath string, isControl, underPrefix bool, findings []leak.Finding) {
	x.entry = Entry{
		V:            EntryVersion,
		Seq:          s.journal.nextSeq(),
		Method:       x.r.Method,
		Path:         s.redactPath(rawPath),
		SessionState: SessionAbsent,
		Leaks:        leaksOf(findings),
	}
	switch {
	case isControl:
		x.entry.API = "control"
	case underPrefix:
		x.entry.API = "v2"
		x.op, x.known = s.operation(x.r.URL.Path)
		x.entry.Op = s.detector.Redact(x.op)
		if x.op != "Login" && x.op != "ListOrgs" {
			s.calls.Add(1)
		}
	}
}

// closeEntry completes the journal entry and stores it.
func (s *Server) closeEntry(x *exchange) {
	if x.now.IsZero() {
		x.now = s.now()
	}
	x.entry.Time = x.now.UTC()
	err := s.journal.add(&x.entry)
	switch l := s.opts.Logger; {
	case err == nil || l == nil:
	case errors.Is(err, errEncode):
		l.Error("journal file sink skipped an entry", slog.Int64("seq", x.entry.Seq), slog.Any("error", err))
	default:
		l.Error("journal file sink failed; it gets no more entries", slog.Any("error", err))
	}
}

// serveAPI runs steps 2 to 6 for a request under the API prefix.
func (s *Server) serveAPI(x *exchange) {
	if t := s.clock.Now(); !inClockRange(t) {
		x.now = clampClock(t)
		x.entry.Note = "server clock reads outside 1970-01-01 to 2200-01-01; journal time clamped"
		s.fail(x, http.StatusOK, CodeSystemError, "")
		return
	}

	// 2. Route and method.
	if !x.known {
		x.now = s.now()
		s.fail(x, http.StatusNotFound, CodeAPINotSupported, "")
		return
	}
	x.route = routes[x.op]
	if !s.methodAllowed(x) {
		x.now = s.now()
		x.w.Header().Set("Allow", allowed(x.route))
		s.fail(x, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
		return
	}
	if !s.readForm(x) {
		return
	}
	s.noteTransports(x)
	s.serveOp(x)
	if x.route != routeLogin && x.route != routeListOrgs {
		// After the operation, which knows the session's account.
		s.noteCredValues(x)
		x.entry.CredFields = x.creds.list()
	}
}

// serveOp runs the faults, then the operation.
func (s *Server) serveOp(x *exchange) {
	// Faults act right after routing; they may move the clock.
	if s.applyFaults(x) {
		return
	}
	x.now = s.now()

	switch x.route {
	case routeLogin:
		s.login(x)
	case routeListOrgs:
		s.listOrgs(x)
	default:
		s.authenticated(x)
		if s.opts.Refresh == RefreshSuccess && x.acct != nil && x.entry.Code == "" && x.entry.Status == http.StatusOK {
			s.sessions.Touch(x.sessionID, x.now)
		}
	}
}

// operation cuts the prefix and ".json" from path, folding "//" to "/".
// It reports false for a path that is no operation, or one
// StrictEndpoints does not serve.
func (s *Server) operation(path string) (string, bool) {
	rest, _ := strings.CutPrefix(path, s.prefix)
	for strings.Contains(rest, "//") {
		rest = strings.ReplaceAll(rest, "//", "/")
	}
	rest = strings.TrimPrefix(rest, "/")
	op, ok := strings.CutSuffix(rest, ".json")
	if !ok || op == "" || strings.HasSuffix(op, "/") {
		return rest, false
	}
	if _, known := routes[op]; !known && s.opts.StrictEndpoints && !s.fixtures.has(op+".json") {
		return op, false
	}
	return op, true
}

func (s *Server) methodAllowed(x *exchange) bool {
	m := x.r.Method
	return m == http.MethodPost || (x.route == routeDocumentPages && m == http.MethodGet)
}

func allowed(r route) string {
	if r == routeDocumentPages {
		return "GET, POST"
	}
	return "POST"
}

// authenticated runs steps 3 to 6 for every operation but Login and
// ListOrgs.
func (s *Server) authenticated(x *exchange) {
	// 3. devKey; a GET of GetDocumentPages uses the session's.
	byCookieOnly := x.r.Method == http.MethodGet
	devKey, hasKey := x.form.get("devKey")
	if !byCookieOnly {
		code := ""
		switch {
		case !hasKey || devKey == "":
			code = CodeDevKeyMissing
		case !s.devKeys[devKey]:
			code = CodeBadDevKey
		}
		if code != "" {
			s.lookupSession(x)
			s.fail(x, http.StatusOK, code, "")
			return
		}
	}

	// 4. Session.
	if !s.checkSession(x) {
		return
	}
	if !byCookieOnly && devKey != x.acct.DevKey {
		s.fail(x, http.StatusOK, CodeBadDevKey, "")
		return
	}

	// 5. Body.
	if data, ok := x.form.get("data"); ok && !json.Valid([]byte(data)) {
		s.fail(x, http.StatusOK, CodeBadJSON, "")
		return
	}

	// 6. The operation.
	switch x.route {
	case routeLogout:
		s.sessions.End(x.sessionID)
		clearCookie(x.w)
		s.succeed(x, struct{}{})
	case routeSessionInfo:
		s.succeed(x, map[string]string{"organizationId": x.acct.OrgID, "userId": x.acct.UsersID})
	default:
		s.serveFixture(x)
	}
}

// checkSession answers BDC_1109 unless the request presents a live
// session.
func (s *Server) checkSession(x *exchange) bool {
	info, live := s.lookupSession(x)
	if !live {
		s.invalidSession(x)
		return false
	}
	x.acct = s.account(info.Account)
	return true
}

// lookupSession records the state, label and account of the session the
// request presents, refreshes it unless the server refreshes only on
// success, and reports whether it is live. Every answer to a request that
// presents a session goes through here, whatever step fails.
func (s *Server) lookupSession(x *exchange) (session.Info, bool) {
	if x.sessionID == "" {
		return session.Info{}, false
	}
	info, st := s.sessions.Lookup(x.sessionID, x.now, s.opts.Refresh == RefreshAny)
	x.entry.SessionState = stateName(st)
	if st != session.Unknown {
		x.entry.Session = sessionLabel(info.Label)
	}
	if info.Account != 0 {
		x.acctN = info.Account
		x.entry.Account = s.accountLabel(info.Account)
	}
	return info, st == session.Live
}

func (s *Server) invalidSession(x *exchange) {
	if x.hadCookie {
		clearCookie(x.w)
	}
	s.fail(x, http.StatusOK, CodeSessionInvalid, "")
}

// stateName maps a table state to the journal's word; a minted id the
// table has forgotten was most likely idle-expired.
func stateName(st session.State) string {
	switch st {
	case session.Live:
		return SessionLive
	case session.Expired, session.Gone:
		return SessionExpired
	case session.Ended:
		return SessionEnded
	}
	return SessionUnknown
}

// refuseLeak answers a request that carried a secret in its URL, and ends
// any session whose id leaked.
func (s *Server) refuseLeak(x *exchange, findings []leak.Finding) {
	for _, f := range findings {
		if f.SessionID == "" {
			continue
		}
		if label, ok := s.sessions.Minted(f.SessionID); ok && x.entry.Session == "" {
			x.entry.Session = sessionLabel(label)
			info, st := s.sessions.Lookup(f.SessionID, x.now, false)
			x.entry.SessionState = stateName(st)
			if info.Account != 0 {
				x.entry.Account = s.accountLabel(info.Account)
			}
		}
		s.sessions.End(f.SessionID)
	}
	s.fail(x, http.StatusBadRequest, CodeSecretInURL, leakMessage(findings))
}

// leakMessage names each leaked field and where it was, never its value.
func leakMessage(findings []leak.Finding) string {
	var b strings.Builder
	b.WriteString("Secret in URL: ")
	for i, f := range findings {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Field + " in the " + whereName(f.Where))
	}
	b.WriteString(". Credentials and session ids belong in the POST body.")
	return b.String()
}

func whereName(where string) string {
	switch where {
	case "query":
		return "query string"
	case "referer":
		return "Referer header"
	case "userinfo":
		return "userinfo of the request URL"
	}
	return where
}

func leaksOf(findings []leak.Finding) []Leak {
	if len(findings) == 0 {
		return nil
	}
	out := make([]Leak, len(findings))
	for i, f := range findings {
		out[i] = Leak{Field: f.Field, Where: f.Where}
	}
	return out
}

// redactPath returns the path with every secret replaced by a marker.
func (s *Server) redactPath(p string) string { return s.detector.Redact(p) }

// noteTransports records how the request carried a session and which
// credential fields it sent by name, and picks the session it presents:
// the form field, else the sid cookie, else (in record mode only) the
// query. [Server.noteCredValues] adds the credentials sent by value.
func (s *Server) noteTransports(x *exchange) {
	var via []string
	if id, ok := x.form.get("sessionId"); ok && x.r.Method == http.MethodPost {
		via = append(via, "field")
		x.sessionID = id
	}
	if c, err := x.r.Cookie("sid"); err == nil {
		via = append(via, "cookie")
		x.hadCookie = true
		if x.sessionID == "" {
			x.sessionID = c.Value
		}
	}
	if id, ok := querySession(x.r.URL.RawQuery); ok {
		via = append(via, "query")
		if x.sessionID == "" && s.opts.Leaks == LeakRecord {
			x.sessionID = id
		}
	}
	creds := &x.creds
	for k, vs := range x.r.Header {
		for _, v := range vs {
			x.hdrScan = x.hdrScan || headerValueMayHold(k, v)
		}
		switch keyName(k) {
		case "sessionid":
			if !contains(via, "header") {
				via = append(via, "header")
			}
		case "username":
			creds.add("userName")
		case "password":
			creds.add("password")
		}
	}
	x.entry.SessionVia = via

	if x.route == routeLogin || x.route == routeListOrgs {
		return
	}
	for _, kv := range x.form.fields {
		creds.addKey(kv.key)
	}
	for _, c := range x.r.Cookies() {
		creds.addKey(c.Name)
	}
}

// credSet collects credential field names in a fixed order.
type credSet struct{ user, pass bool }

func (c *credSet) add(field string) {
	if field == "userName" {
		c.user = true
	} else {
		c.pass = true
	}
}

func (c *credSet) addKey(k string) {
	switch keyName(k) {
	case "username":
		c.user = true
	case "password":
		c.pass = true
	}
}

func (c credSet) list() []string {
	var out []string
	if c.user {
		out = append(out, "userName")
	}
	if c.pass {
		out = append(out, "password")
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// keyName returns the ASCII letters of s, lower-cased, when they spell a
// name the pipeline looks for in keys (sessionid, sid, username,
// password), and "" otherwise. Other characters are dropped, so
// "Session-Id" and "session_id" read as "sessionid". It does not
// allocate: it runs on every header, form and cookie key.
func keyName(s string) string {
	var buf [len("sessionid")]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			continue
		}
		if n == len(buf) {
			return "" // longer than any name looked for
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "sessionid":
		return "sessionid"
	case "sid":
		return "sid"
	case "username":
		return "username"
	case "password":
		return "password"
	}
	return ""
}

// dataHash returns the hex SHA-256 of the raw data field, "" without one.
func dataHash(f *form) string {
	data, ok := f.get("data")
	if !ok {
		return ""
	}
	sum := sha256.Sum256([]byte(data))
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return string(buf[:])
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and passes it on.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush lets long-polls reach the client.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequest writes the one log line of a request: no secret, only the
// redacted path, the outcome and the session label.
func (s *Server) logRequest(r *http.Request, x *exchange, rawPath string, isControl bool, took time.Duration) {
	l := s.opts.Logger
	if l == nil {
		return
	}
	path := x.entry.Path
	if path == "" {
		path = s.redactPath(rawPath)
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", path),
		slog.Int("status", x.entry.Status),
	}
	if x.entry.Code != "" {
		attrs = append(attrs, slog.String("code", x.entry.Code))
	}
	if x.entry.Session != "" {
		attrs = append(attrs, slog.String("session", x.entry.Session))
	}
	if len(x.entry.Leaks) > 0 {
		attrs = append(attrs, slog.Int("leaks", len(x.entry.Leaks)))
	}
	if isControl {
		attrs = append(attrs, slog.Bool("control", true))
	}
	attrs = append(attrs, slog.Duration("took", took))
	l.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}
