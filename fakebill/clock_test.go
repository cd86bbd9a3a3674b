package fakebill

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClockRange(t *testing.T) {
	date := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	nearEnd := date(2199, 12, 31, 23)
	tests := []struct {
		name    string
		start   time.Time
		advance time.Duration // used when set is zero
		set     time.Time
		wantErr error
		wantNow time.Time
	}{
		{"advance to the end", nearEnd, time.Hour, time.Time{}, nil, date(2200, 1, 1, 0)},
		{"advance past the end", nearEnd, 2 * time.Hour, time.Time{}, ErrClockRange, nearEnd},
		{"advance by the most", DefaultStartTime, 1<<63 - 1, time.Time{}, ErrClockRange, DefaultStartTime},
		{"set to the end", DefaultStartTime, 0, date(2200, 1, 1, 0), nil, date(2200, 1, 1, 0)},
		{"set past int64 nanoseconds", DefaultStartTime, 0, date(2300, 1, 1, 0), ErrClockRange, DefaultStartTime},
		{"set to year 9999", DefaultStartTime, 0, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), ErrClockRange, DefaultStartTime},
		{"set before 1970", DefaultStartTime, 0, date(1969, 12, 31, 23), ErrClockRange, DefaultStartTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t, Options{Clock: NewManualClock(tt.start)})
			var err error
			if tt.set.IsZero() {
				err = s.Advance(tt.advance)
			} else {
				err = s.SetNow(tt.set)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if got := clk.Now(); !got.Equal(tt.wantNow) {
				t.Errorf("clock = %v, want %v", got, tt.wantNow)
			}
		})
	}
}

func TestRealClockRange(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetNow(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrClockRange) {
		t.Errorf("SetNow(2300) = %v, want %v", err, ErrClockRange)
	}
	if err := s.Advance(200 * 365 * 24 * time.Hour); !errors.Is(err, ErrClockRange) {
		t.Errorf("Advance(200 years) = %v, want %v", err, ErrClockRange)
	}
	if got := s.clockOffset(); got != 0 {
		t.Errorf("offset = %v, want 0", got)
	}
}

func TestNewServerClockRange(t *testing.T) {
	tests := []struct {
		name    string
		clock   Clock
		wantErr error
	}{
		{"manual at the start of the range", NewManualClock(time.Unix(0, 0)), nil},
		{"manual in 2300", NewManualClock(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)), ErrClockRange},
		{"manual before 1970", NewManualClock(time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)), ErrClockRange},
		{"zero manual clock", &ManualClock{}, ErrClockRange},
		{"injected in year 10000", ClockFunc(func() time.Time { return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), ErrClockRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(Options{Clock: tt.clock})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("NewServer: got error %v, want %v", err, tt.wantErr)
			}
			if err == nil && s == nil {
				t.Fatal("NewServer returned no server and no error")
			}
		})
	}
}

func TestControlClockRange(t *testing.T) {
	var sink bytes.Buffer
	s, clk := newTestServer(t, Options{JournalWriter: &sink})
	rangeErr := `{"error":"the clock must stay within 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z"}`
	tests := []struct {
		path, body string
		wantCode   int
		wantBody   string
	}{
		{"/clock/set", `{"now":"2300-01-01T00:00:00Z"}`, 400, rangeErr},
		{"/clock/set", `{"now":"9999-12-31T23:59:59Z"}`, 400, rangeErr},
		{"/clock/set", `{"now":"2199-12-31T23:00:00Z"}`, 200, `{"now":"2199-12-31T23:00:00Z","mode":"manual","offset_ms":5490889200000}`},
		{"/clock/advance", `{"by":"1h1s"}`, 400, rangeErr},
		{"/clock/advance", `{"by":"100000h"}`, 400, rangeErr},
	}
	for _, tt := range tests {
		t.Run(tt.path+tt.body, func(t *testing.T) {
			code, body := ctl(t, s, "POST", tt.path, tt.body)
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
	if got, want := clk.Now(), time.Date(2199, 12, 31, 23, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("clock = %v, want %v", got, want)
	}

	// Expiry still works at the end of the range.
	sid := login(t, s, acctA)
	ctl(t, s, "POST", "/clock/advance", `{"by":"35m"}`)
	if got := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("call 35m after login = %q, want %s", got, CodeSessionInvalid)
	}
	for _, path := range []string{"/clock", "/journal"} {
		if code, body := ctl(t, s, "GET", path, ""); code != 200 {
			t.Errorf("GET %s = %d %s, want 200", path, code, body)
		}
	}
	checkSinkLines(t, sink.String(), 2)
}

// checkSinkLines checks that the journal sink holds want lines, each a
// JSON object.
func checkSinkLines(t *testing.T, sink string, want int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(sink, "\n"), "\n")
	if len(lines) != want {
		t.Errorf("sink has %d lines, want %d:\n%s", len(lines), want, sink)
	}
	for i, l := range lines {
		if !json.Valid([]byte(l)) || !strings.HasPrefix(l, "{") {
			t.Errorf("sink line %d = %q, want a JSON object", i+1, l)
		}
	}
}

// movedClock is an injected clock the test moves behind the server's back.
type movedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movedClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestInjectedClockOutOfRange(t *testing.T) {
	tests := []struct {
		name     string
		now      time.Time
		wantTime time.Time // the journal's
	}{
		{"past int64 nanoseconds", time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), maxClock},
		{"past year 9999", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), maxClock},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), minClock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sink bytes.Buffer
			clk := &movedClock{now: DefaultStartTime}
			s, _ := newTestServer(t, Options{Clock: clk, JournalWriter: &sink})
			sid := login(t, s, acctA)
			clk.set(tt.now)

			ans := post(t, s, "GetSessionInfo.json", callForm(acctA, sid, ""))
			if ans.Status != 200 || ans.code() != CodeSystemError || !ans.IsJSON {
				t.Errorf("call = %d %q %s, want 200 %s envelope", ans.Status, ans.code(), ans.Body, CodeSystemError)
			}
			e := lastEntry(t, s)
			if !strings.Contains(e.Note, "clock") || !e.Time.Equal(tt.wantTime) {
				t.Errorf("journal note %q, time %v; want a note on the clock, time %v", e.Note, e.Time, tt.wantTime)
			}
			if code, body := ctl(t, s, "GET", "/journal", ""); code != 200 {
				t.Errorf("GET /journal = %d %s, want 200", code, body)
			}
			if code, body := ctl(t, s, "GET", "/clock", ""); code != 500 || !strings.Contains(body, "outside") {
				t.Errorf("GET /clock = %d %s, want 500 naming the range", code, body)
			}
			checkSinkLines(t, sink.String(), 2)
		})
	}
}

func TestJournalSinkSkipsUnencodable(t *testing.T) {
	var sink bytes.Buffer
	var j journal
	j.init(10, &sink)
	bad := Entry{V: 1, Seq: 1, Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := j.add(&bad); !errors.Is(err, errEncode) {
		t.Errorf("add(year 10000) = %v, want %v", err, errEncode)
	}
	if err := j.add(&Entry{V: 1, Seq: 2, Time: DefaultStartTime}); err != nil {
		t.Errorf("add after a skipped entry = %v, want nil", err)
	}
	checkSinkLines(t, sink.String(), 1)
	if _, _, skipped := j.size(); skipped != 1 {
		t.Errorf("skipped = %d, want 1", skipped)
	}
}

func TestJournalSinkSkipLogged(t *testing.T) {
	var logs syncBuffer
	s, _ := newTestServer(t, Options{JournalWriter: &bytes.Buffer{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	x := &exchange{entry: Entry{V: 1, Seq: 7}, now: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	x.r, _ = http.NewRequest(http.MethodPost, "/api/v2/Login.json", nil)
	s.closeEntry(x)
	if got := logs.String(); !strings.Contains(got, "skipped an entry") || !strings.Contains(got, "seq=7") {
		t.Errorf("log = %q, want the skipped entry's seq", got)
	}
	if got := s.Stats().SinkSkipped; got != 1 {
		t.Errorf("Stats().SinkSkipped = %d, want 1", got)
	}
}
