package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/fakebill/toolkit/fakebill"
)

// benchAccount has secrets long enough for the leak detector to look
// for them by value, as a real run's would be.
var benchAccount = fakebill.Account{
	UserName: "bench.payables@example.invalid",
	Password: "Pw-bench-4q8r2t6y",
	OrgID:    "008benchbenchbench01",
	DevKey:   "DEVKEY-bench-000001",
	UsersID:  "006benchbenchbench01",
	OrgName:  "Bench Org",
}

// t0 is where the benchmarks' clocks stand; they never move, so no
// session expires during a measurement.
var t0 = fakebill.DefaultStartTime

// newFake returns a fake on a manual clock at t0, with opts' other
// fields as given.
func newFake(tb testing.TB, opts fakebill.Options) *fakebill.Server {
	tb.Helper()
	if opts.Accounts == nil {
		opts.Accounts = []fakebill.Account{benchAccount}
	}
	if opts.Clock == nil {
		opts.Clock = fakebill.NewManualClock(t0)
	}
	s, err := fakebill.NewServer(opts)
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	return s
}

func newFloor() *Floor {
	return NewFloor(benchAccount, fakebill.DefaultIdleTimeout, func() time.Time { return t0 })
}

// sink is the cheapest http.ResponseWriter that still keeps the header
// and, when asked, the body. Both handlers under test write to one.
type sink struct {
	h    http.Header
	code int
	keep bool
	body []byte
}

func newSink() *sink { return &sink{h: make(http.Header)} }

func (w *sink) Header() http.Header { return w.h }

func (w *sink) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *sink) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.keep {
		w.body = append(w.body, b...)
	}
	return len(b), nil
}

// reset readies w for the next request.
func (w *sink) reset() {
	clear(w.h)
	w.code = 0
	w.body = w.body[:0]
}

// request is a POST to build afresh for every iteration: a handler may
// cache the parsed form on the *http.Request, so one must not be reused.
type request struct {
	tmpl http.Request
	body []byte
}

// newRequest returns a form POST to target ("/api/v2/Login.json?x=1").
func newRequest(target string, form url.Values) *request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		panic(err)
	}
	body := []byte(form.Encode())
	return &request{
		tmpl: http.Request{
			Method:        http.MethodPost,
			URL:           u,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			Host:          "127.0.0.1:8080",
			RemoteAddr:    "127.0.0.1:40000",
			RequestURI:    target,
			ContentLength: int64(len(body)),
		},
		body: body,
	}
}

// make returns a fresh request; its header map is shared and must be
// read only, as both handlers treat it.
func (q *request) make() *http.Request {
	r := q.tmpl
	r.Body = io.NopCloser(bytes.NewReader(q.body))
	return &r
}

func loginForm() url.Values {
	a := benchAccount
	return url.Values{"userName": {a.UserName}, "password": {a.Password}, "orgId": {a.OrgID}, "devKey": {a.DevKey}}
}

func callForm(id string) url.Values {
	return url.Values{"devKey": {benchAccount.DevKey}, "sessionId": {id}, "data": {`{"id":"00901ABCDEFGHIJKLMNO"}`}}
}

const (
	loginPath = "/api/v2/Login.json"
	callPath  = "/api/v2/Crud/Read/Vendor.json"
)

// serve runs one request through h and fails unless it succeeded.
func serve(tb testing.TB, h http.Handler, w *sink, q *request) {
	w.reset()
	h.ServeHTTP(w, q.make())
	if w.code != http.StatusOK {
		tb.Fatalf("%s: status %d, want 200", q.tmpl.URL.Path, w.code)
	}
}

// login logs in through h and returns the session id.
func login(tb testing.TB, h http.Handler, w *sink, q *request) string {
	w.keep = true
	defer func() { w.keep = false }()
	serve(tb, h, w, q)
	var env struct {
		Status int `json:"response_status"`
		Data   struct {
			SessionID string `json:"sessionId"`
		} `json:"response_data"`
	}
	if err := json.Unmarshal(w.body, &env); err != nil || env.Status != 0 || env.Data.SessionID == "" {
		tb.Fatalf("login answered %s, want a session", w.body)
	}
	return env.Data.SessionID
}

// heapInuse returns HeapInuse after full collections.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// hotSet is how many sessions a call benchmark cycles through: the
// clients of one test suite, while the other sessions sit idle.
const hotSet = 1000

// filled is a handler holding n live sessions, and the request bodies
// of hotSet of them, spread evenly over the order they were created in.
type filled struct {
	h          http.Handler
	n          int
	perSession float64 // heap bytes per live session
	hot        []*request
}

// fill logs in n times through h and measures the heap the sessions
// hold; clear, if not nil, empties what else the logins left behind
// (the fake's journal), so that only the sessions are counted.
func fill(tb testing.TB, h http.Handler, n int, clear func()) *filled {
	tb.Helper()
	f := &filled{h: h, n: n}
	w := newSink()
	q := newRequest(loginPath, loginForm())
	stride := max(n/hotSet, 1)
	ids := make([]string, 0, min(n, hotSet))
	before := heapInuse()
	for i := range n {
		id := login(tb, h, w, q)
		if i%stride == 0 && len(ids) < hotSet {
			ids = append(ids, id)
		}
	}
	if clear != nil {
		clear()
	}
	f.perSession = float64(int64(heapInuse())-int64(before)) / float64(n)
	for _, id := range ids {
		f.hot = append(f.hot, newRequest(callPath, callForm(id)))
	}
	return f
}

// cpuMeter reports the process's CPU time per iteration as cpu-ns/op.
// On a machine shared with other work, wall time per op swings with the
// load while CPU time stays close to the work done, so the floor ratios
// are read from both.
type cpuMeter struct{ start time.Duration }

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

func (m cpuMeter) report(b *testing.B) {
	if end := cpuTime(); end > 0 && b.N > 0 {
		b.ReportMetric(float64(end-m.start)/float64(b.N), "cpu-ns/op")
	}
}
