package fakebill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
)

// Call is an authenticated request as a fixture function sees it.
type Call struct {
	Op   string          // "Crud/Read/Vendor"
	Data json.RawMessage // the data field, nil if absent

	// Form holds the request's other fields, first value of each; the
	// credential fields (userName, password, devKey, sessionId) are left
	// out.
	Form    map[string]string
	Account Account
	Session string // label
}

// FixtureFunc answers a call: the response_data to send, or an error. An
// error of type *[Error] is answered as that BDC error; any other as
// BDC_1001.
type FixtureFunc func(c *Call) (any, error)

// Error is a BDC error a fixture returns.
type Error struct {
	Code    string
	Message string // "" means the service's message for Code
}

// Error returns the code and message.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = Message(e.Code)
	}
	return e.Code + ": " + msg
}

// fixture answers one path: a ready envelope, or a function.
type fixture struct {
	body []byte
	code string // error code of body, for the journal
	fn   FixtureFunc
}

// fixtureSet maps a path such as "Crud/Read/Vendor.json" to its fixture.
type fixtureSet struct {
	mu   sync.RWMutex
	m    map[string]fixture
	base map[string]fixture // what LoadFixtures loaded: Reset's starting set
}

func (fs *fixtureSet) init() {
	fs.m = make(map[string]fixture)
	fs.base = make(map[string]fixture)
}

// restore puts back the fixtures LoadFixtures loaded, and only those.
func (fs *fixtureSet) restore() {
	fs.mu.Lock()
	fs.m = maps.Clone(fs.base)
	fs.mu.Unlock()
}

func (fs *fixtureSet) get(p string) (fixture, bool) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	f, ok := fs.m[p]
	return f, ok
}

func (fs *fixtureSet) has(p string) bool {
	_, ok := fs.get(p)
	return ok
}

func (fs *fixtureSet) set(p string, f fixture) {
	fs.mu.Lock()
	fs.m[p] = f
	fs.mu.Unlock()
}

// fixturePath normalizes a fixture path: no leading slash, ".json" at the
// end. It reports false for a path that names no operation.
func fixturePath(p string) (string, bool) {
	p = strings.TrimPrefix(p, "/")
	if !strings.HasSuffix(p, ".json") {
		p += ".json"
	}
	return p, p != ".json" && !strings.Contains(p, "//")
}

// SetFixture makes path ("Crud/Read/Vendor.json") answer responseData. A
// value that encodes to a JSON object with a response_status member (a
// json.RawMessage holding a whole envelope, say) is sent as it is. Its
// errors name the path with any secret in it redacted.
func (s *Server) SetFixture(path string, responseData any) error {
	p, ok := fixturePath(path)
	if !ok {
		return fmt.Errorf("fakebill: bad fixture path %q", s.detector.Redact(p))
	}
	raw, err := json.Marshal(responseData)
	if err != nil {
		return fmt.Errorf("fakebill: fixture %s: %w", s.detector.Redact(p), err)
	}
	body, err := fixtureBody(raw)
	if err != nil {
		return fmt.Errorf("fakebill: fixture %s: %w", s.detector.Redact(p), err)
	}
	s.fixtures.set(p, fixture{body: body, code: codeOf(body)})
	return nil
}

// fixtureBody wraps raw in a success envelope unless it is one already.
func fixtureBody(raw []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		if _, ok := obj["response_status"]; ok {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}
	}
	return json.Marshal(envelope{Status: 0, Message: "Success", Data: json.RawMessage(raw)})
}

// HandleFunc makes path answer whatever f returns. Like
// [net/http.ServeMux.HandleFunc], it panics on a setup error: an empty
// path or a nil f.
func (s *Server) HandleFunc(path string, f FixtureFunc) {
	p, ok := fixturePath(path)
	if !ok || f == nil {
		panic("fakebill: HandleFunc: bad path or nil func")
	}
	s.fixtures.set(p, fixture{fn: f})
}

// Fixtures lists the paths with a fixture, sorted.
func (s *Server) Fixtures() []string {
	s.fixtures.mu.RLock()
	defer s.fixtures.mu.RUnlock()
	out := make([]string, 0, len(s.fixtures.m))
	for p := range s.fixtures.m {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// ClearFixtures removes every fixture.
func (s *Server) ClearFixtures() {
	s.fixtures.mu.Lock()
	clear(s.fixtures.m)
	s.fixtures.mu.Unlock()
}

// LoadFixtures reads every *.json file under dir as a fixture: the file
// DIR/Crud/Read/Vendor.json answers Crud/Read/Vendor.json with its
// contents as response_data, or as the whole answer when it is an object
// with a response_status member. The fixtures it loads are the ones
// [Server.Reset] puts back. On an error it loads nothing.
func (s *Server) LoadFixtures(dir string) error {
	fsys := os.DirFS(dir)
	type loaded struct {
		path string
		body []byte
	}
	var all []loaded
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".json" {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if !json.Valid(raw) {
			return fmt.Errorf("%s: not valid JSON", s.detector.Redact(p))
		}
		body, err := fixtureBody(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", s.detector.Redact(p), err)
		}
		all = append(all, loaded{p, body})
		return nil
	})
	if err != nil {
		return fmt.Errorf("fakebill: load fixtures: %w", err)
	}
	s.fixtures.mu.Lock()
	defer s.fixtures.mu.Unlock()
	for _, l := range all {
		f := fixture{body: l.body, code: codeOf(l.body)}
		s.fixtures.m[l.path] = f
		s.fixtures.base[l.path] = f
	}
	return nil
}

// serveFixture is step 6 for a generic operation: its fixture, else an
// empty success ({}, or [] for List/...).
func (s *Server) serveFixture(x *exchange) {
	f, ok := s.fixtures.get(x.op + ".json")
	switch {
	case ok && f.fn != nil:
		s.runFixture(x, f.fn)
	case ok:
		s.writeRaw(x, http.StatusOK, "application/json", f.body)
		x.entry.Code = f.code
	case strings.HasPrefix(x.op, "List/"):
		s.writeRaw(x, http.StatusOK, "application/json", genericList)
	default:
		s.writeRaw(x, http.StatusOK, "application/json", genericObject)
	}
}

// The generic successes, encoded once: most calls a client's tests make
// get one of these, and encoding them per call was a tenth of its cost.
var (
	genericObject = mustEnvelope(struct{}{})
	genericList   = mustEnvelope([]struct{}{})
)

func mustEnvelope(data any) []byte {
	b, err := json.Marshal(envelope{Status: 0, Message: "Success", Data: data})
	if err != nil {
		panic("fakebill: " + err.Error())
	}
	return b
}

func (s *Server) runFixture(x *exchange, fn FixtureFunc) {
	c := &Call{Op: x.op, Form: map[string]string{}, Account: *x.acct, Session: x.entry.Session}
	for _, kv := range x.form.fields {
		switch kv.key {
		case "userName", "password", "devKey", "sessionId":
		case "data":
			c.Data = json.RawMessage(kv.value)
		default:
			c.Form[kv.key] = kv.value
		}
	}
	data, err := callFixture(fn, c)
	var be *Error
	switch {
	case errors.As(err, &be):
		s.fail(x, http.StatusOK, be.Code, be.Message)
	case err != nil:
		x.entry.Note = "fixture function failed"
		if err == errFixturePanic {
			x.entry.Note = "fixture function panicked"
		}
		s.fail(x, http.StatusOK, CodeSystemError, "")
	default:
		s.succeed(x, data)
	}
}

// errFixturePanic stands for a fixture function that panicked.
var errFixturePanic = errors.New("fixture function panicked")

// callFixture runs fn, turning a panic into an error so that one bad
// fixture cannot take the server down.
func callFixture(fn FixtureFunc, c *Call) (data any, err error) {
	defer func() {
		if recover() != nil {
			data, err = nil, errFixturePanic
		}
	}()
	return fn(c)
}

// codeOf returns the error code of an error envelope, "" otherwise.
func codeOf(body []byte) string {
	var env struct {
		Status int `json:"response_status"`
		Data   struct {
			Code string `json:"error_code"`
		} `json:"response_data"`
	}
	if json.Unmarshal(body, &env) != nil || env.Status == 0 {
		return ""
	}
	return env.Data.Code
}
