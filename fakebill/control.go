package fakebill

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/fakebill/toolkit/internal/version"
)

// maxControlBody caps control API request bodies.
const maxControlBody = 1 << 20

// maxWait caps how long GET /journal waits.
const maxWait = 5 * time.Minute

// newControl builds the control API's router.
func (s *Server) newControl() http.Handler {
	r := mux.NewRouter().SkipClean(true)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.writeError(w, http.StatusNotFound, "no such control route")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.writeError(w, http.StatusMethodNotAllowed, "method not allowed on this control route")
	})
	// Full paths on one router: a subrouter would answer a wrong method
	// with 404 instead of 405.
	r.HandleFunc(controlPrefix+"/health", s.health).Methods(http.MethodGet, http.MethodHead)
	admin := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(controlPrefix+path, s.guard(h)).Methods(methods...)
	}
	admin("/clock", s.getClock, http.MethodGet)
	admin("/clock/advance", s.advanceClock, http.MethodPost)
	admin("/clock/set", s.setClock, http.MethodPost)
	admin("/sessions", s.listSessions, http.MethodGet)
	admin("/sessions/end", s.endSessions, http.MethodPost)
	admin("/journal", s.getJournal, http.MethodGet)
	admin("/journal", s.deleteJournal, http.MethodDelete)
	admin("/leaks", s.getLeaks, http.MethodGet)
	admin("/faults", s.getFaults, http.MethodGet)
	admin("/faults", s.postFault, http.MethodPost)
	admin("/faults", s.deleteFaults, http.MethodDelete)
	admin("/fixtures", s.getFixtures, http.MethodGet)
	admin("/fixtures", s.postFixture, http.MethodPost)
	admin("/fixtures", s.deleteFixtures, http.MethodDelete)
	admin("/stats", s.getStats, http.MethodGet)
	admin("/cert", s.getCert, http.MethodGet)
	admin("/reset", s.postReset, http.MethodPost)
	return r
}

// guard enforces AdminDisabled and AdminToken.
func (s *Server) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminDisabled {
			s.writeError(w, http.StatusNotFound, "control API disabled")
			return
		}
		if tok := s.opts.AdminToken; tok != "" {
			if subtle.ConstantTimeCompare([]byte(bearer(r)), []byte(tok)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="fakebill"`)
				s.writeError(w, http.StatusUnauthorized, "control API needs a bearer token")
				return
			}
		}
		h(w, r)
	})
}

// bearer returns the request's bearer token, "" if none.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers {"error": msg}, with any secret the client sent
// (an unknown field's name, a path) redacted from msg.
func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": s.detector.Redact(msg)})
}

// Errors of readJSON.
var (
	errEmptyBody    = errors.New("empty request body: JSON expected")
	errBodyTooLarge = errors.New("request body too large")
)

// readJSON decodes the request body into v, refusing unknown fields,
// trailing data and an empty body.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody+1))
	switch {
	case err != nil:
		return errors.New("cannot read request body")
	case len(body) > maxControlBody:
		return errBodyTooLarge
	case len(bytes.TrimSpace(body)) == 0:
		return errEmptyBody
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return errors.New("bad JSON: data after the object")
	}
	return nil
}

// badBody answers a request whose JSON body readJSON refused.
func (s *Server) badBody(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, errBodyTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	s.writeError(w, status, err.Error())
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version.Version})
}

type clockAnswer struct {
	Now      time.Time `json:"now"`
	Mode     string    `json:"mode"`
	OffsetMS int64     `json:"offset_ms"`
}

// writeClock answers the clock's state, or why it cannot: an injected
// clock may read outside the range the server supports.
func (s *Server) writeClock(w http.ResponseWriter) {
	now := s.clock.Now()
	if !inClockRange(now) {
		s.writeError(w, http.StatusInternalServerError,
			"the server's injected clock reads outside 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z")
		return
	}
	writeJSON(w, http.StatusOK, clockAnswer{Now: now.UTC(), Mode: s.clockMode, OffsetMS: s.clockOffset().Milliseconds()})
}

func (s *Server) getClock(w http.ResponseWriter, _ *http.Request) { s.writeClock(w) }

func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		By string `json:"by"`
	}
	if err := readJSON(r, &req); err != nil {
		s.badBody(w, err)
		return
	}
	d, err := time.ParseDuration(req.By)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, `by: want a Go duration such as "35m"`)
		return
	}
	s.clockErr(w, s.Advance(d))
}

func (s *Server) setClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Now string `json:"now"`
	}
	if err := readJSON(r, &req); err != nil {
		s.badBody(w, err)
		return
	}
	t, err := time.Parse(time.RFC3339Nano, req.Now)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "now: want an RFC 3339 time")
		return
	}
	s.clockErr(w, s.SetNow(t))
}

// clockErr answers a clock move: the clock, or why it did not move.
func (s *Server) clockErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrClockNotMovable):
		s.writeError(w, http.StatusConflict, "the server's clock is injected and cannot be moved")
	case errors.Is(err, ErrClockBackwards):
		s.writeError(w, http.StatusBadRequest, "the clock cannot go backwards")
	case errors.Is(err, ErrClockRange):
		s.writeError(w, http.StatusBadRequest, "the clock must stay within 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z")
	default:
		s.writeClock(w)
	}
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, http.StatusBadRequest, "limit: want a non-negative integer")
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, s.Sessions(limit))
}

func (s *Server) endSessions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Session    string `json:"session"`
		Account    string `json:"account"`
		AccountOrg string `json:"account_org"`
		All        bool   `json:"all"`
	}
	if err := readJSON(r, &req); err != nil {
		s.badBody(w, err)
		return
	}
	set := 0
	for _, b := range []bool{req.Session != "", req.Account != "", req.AccountOrg != "", req.All} {
		if b {
			set++
		}
	}
	if set != 1 {
		s.writeError(w, http.StatusBadRequest, `give exactly one of "session", "account", "account_org", "all":true`)
		return
	}
	var ended int
	switch {
	case req.Session != "":
		if _, ok := parseLabel(req.Session, "session"); !ok {
			s.writeError(w, http.StatusBadRequest, `session: want a label such as "session#3"`)
			return
		}
		if s.EndSession(req.Session) {
			ended = 1
		}
	case req.Account != "":
		if _, ok := parseLabel(req.Account, "account"); !ok {
			s.writeError(w, http.StatusBadRequest, `account: want a label such as "account#1"`)
			return
		}
		ended = s.EndAccount(req.Account)
	case req.AccountOrg != "":
		ended = s.EndOrg(req.AccountOrg)
	default:
		ended = s.EndAll()
	}
	writeJSON(w, http.StatusOK, map[string]int{"ended": ended})
}

type journalAnswer struct {
	Entries []Entry `json:"entries"`
	Dropped int64   `json:"dropped"`
}

func (s *Server) getJournal(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since int64
	if v := q.Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.writeError(w, http.StatusBadRequest, "since: want a non-negative integer")
			return
		}
		since = n
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			s.writeError(w, http.StatusBadRequest, `wait: want a Go duration such as "5s"`)
			return
		}
		wait = min(d, maxWait)
	}
	var ans journalAnswer
	if wait > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		ans.Entries, ans.Dropped = s.WaitJournal(ctx, since)
		cancel()
	} else {
		ans.Entries, ans.Dropped = s.Journal(since)
	}
	if ans.Entries == nil {
		ans.Entries = []Entry{}
	}
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) deleteJournal(w http.ResponseWriter, _ *http.Request) {
	s.ClearJournal()
	writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
}

func (s *Server) getLeaks(w http.ResponseWriter, _ *http.Request) {
	leaks := s.Leaks()
	if leaks == nil {
		leaks = []Entry{}
	}
	writeJSON(w, http.StatusOK, leaks)
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	faults := s.Faults()
	out := make([]faultView, len(faults))
	for i, f := range faults {
		out[i] = s.viewFault(f)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := readJSON(r, &f); err != nil {
		s.badBody(w, err)
		return
	}
	if err := s.AddFault(f); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrClockNotMovable) {
			status = http.StatusConflict
		}
		s.writeError(w, status, strings.TrimPrefix(err.Error(), "fakebill: "))
		return
	}
	s.getFaults(w, r)
}

func (s *Server) deleteFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
}

func (s *Server) getFixtures(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.fixtureList())
}

// fixtureList is [Server.Fixtures] with any secret in a path redacted:
// a client may set a fixture at a path it should not have.
func (s *Server) fixtureList() []string {
	paths := s.Fixtures()
	for i, p := range paths {
		paths[i] = s.detector.Redact(p)
	}
	return paths
}

func (s *Server) postFixture(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Path         string          `json:"path"`
		ResponseData json.RawMessage `json:"response_data"`
	}
	if err := readJSON(r, &req); err != nil {
		s.badBody(w, err)
		return
	}
	if req.Path == "" || req.ResponseData == nil {
		s.writeError(w, http.StatusBadRequest, `want "path" and "response_data"`)
		return
	}
	if err := s.SetFixture(req.Path, req.ResponseData); err != nil {
		s.writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "fakebill: "))
		return
	}
	writeJSON(w, http.StatusOK, s.fixtureList())
}

func (s *Server) deleteFixtures(w http.ResponseWriter, _ *http.Request) {
	s.ClearFixtures()
	writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	st := s.Stats()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapInuseBytes = ms.HeapInuse
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) getCert(w http.ResponseWriter, _ *http.Request) {
	if len(s.opts.CertPEM) == 0 {
		s.writeError(w, http.StatusNotFound, "the server is not serving TLS")
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Write(s.opts.CertPEM)
}

func (s *Server) postReset(w http.ResponseWriter, r *http.Request) {
	// The body is optional; if present it must be an empty object.
	var req struct{}
	if err := readJSON(r, &req); err != nil && err != errEmptyBody {
		s.badBody(w, err)
		return
	}
	s.Reset()
	s.writeClock(w)
}
