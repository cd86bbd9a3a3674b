package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/fakebill/toolkit/fakebill"
)

// hammer is the traffic one goroutine of TestHammer sends and what it
// saw come back.
type hammer struct {
	s      *fakebill.Server
	clk    *fakebill.ManualClock
	rng    *rand.Rand
	sid    string
	api    int            // API requests sent (each must be journaled)
	codes  map[string]int // API answers by code ("" for success)
	logins int            // successful logins
	seen   int64          // the largest seq this hammer has read
}

func (h *hammer) send(target string, form url.Values, query string) (int, string, string) {
	if query != "" {
		target += "?" + query
	}
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.s.ServeHTTP(w, r)
	h.api++
	var env struct {
		Status int             `json:"response_status"`
		Data   json.RawMessage `json:"response_data"`
	}
	var data struct {
		SessionID string `json:"sessionId"`
		Code      string `json:"error_code"`
	}
	if json.Unmarshal(w.Body.Bytes(), &env) == nil && len(env.Data) > 0 && env.Data[0] == '{' {
		json.Unmarshal(env.Data, &data)
	}
	h.codes[data.Code]++
	return w.Code, data.Code, data.SessionID
}

func (h *hammer) control(method, path, body string) int {
	r := httptest.NewRequest(method, "/_fakebill"+path, strings.NewReader(body))
	w := httptest.NewRecorder()
	h.s.ServeHTTP(w, r)
	return w.Code
}

// step does one random thing: mostly calls, with logins, logouts, leaks,
// clock moves, ended sessions and journal reads mixed in.
func (h *hammer) step(t *testing.T) {
	a := benchAccount
	switch p := h.rng.IntN(100); {
	case h.sid == "" || p < 8:
		if _, code, sid := h.send(loginPath, loginForm(), ""); code == "" {
			h.sid = sid
			h.logins++
		}
	case p < 60:
		if _, code, _ := h.send(callPath, callForm(h.sid), ""); code == fakebill.CodeSessionInvalid {
			h.sid = ""
		}
	case p < 64:
		h.send("/api/v2/Logout.json", url.Values{"devKey": {a.DevKey}, "sessionId": {h.sid}}, "")
		h.sid = ""
	case p < 66:
		h.send("/api/v2/GetSessionInfo.json", url.Values{"devKey": {a.DevKey}}, "sessionId="+h.sid)
		h.sid = ""
	case p < 72:
		h.clk.Add(time.Duration(h.rng.IntN(10)+1) * time.Minute)
	case p < 75:
		h.control(http.MethodPost, "/clock/advance", `{"by":"3m"}`)
	case p < 78:
		h.s.EndSession(fmt.Sprintf("session#%d", h.rng.IntN(500)+1))
	case p < 79:
		h.control(http.MethodPost, "/sessions/end", `{"account":"account#1"}`)
	case p < 80:
		h.s.EndAll()
	case p < 88:
		// Poll as a reader that follows the journal does, a little behind
		// the newest entry it saw, since entries complete out of order.
		entries, _ := h.s.Journal(max(h.seen-64, 0))
		for _, e := range entries {
			if e.DoneSeq == 0 {
				t.Errorf("entry seq %d read with done_seq 0", e.Seq)
			}
			h.seen = max(h.seen, e.Seq)
		}
	case p < 92:
		if code := h.control(http.MethodGet, "/journal?since=100000000&wait=2ms", ""); code != http.StatusOK {
			t.Errorf("GET /journal?wait = %d, want 200", code)
		}
	case p < 95:
		if h.rng.IntN(20) == 0 { // it collects garbage, which stops the world
			h.control(http.MethodGet, "/stats", "")
		}
	default:
		h.control(http.MethodGet, "/sessions?limit=5", "")
	}
}

// TestHammer drives one server from 64 goroutines at once, while its
// clock moves and sessions end under the clients, and checks that no
// journal entry is lost or half-written and no goroutine outlives it.
// Run it with -race.
func TestHammer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const goroutines = 64
	steps := 150
	if testing.Short() {
		steps = 40
	}
	var sink bytes.Buffer
	clk := fakebill.NewManualClock(t0)
	s := newFake(t, fakebill.Options{Clock: clk, JournalSize: goroutines * steps * 2, JournalWriter: &lockedWriter{w: &sink}})

	hs := make([]*hammer, goroutines)
	var wg sync.WaitGroup
	for i := range hs {
		hs[i] = &hammer{s: s, clk: clk, rng: rand.New(rand.NewPCG(uint64(i), 7)), codes: map[string]int{}}
		wg.Go(func() {
			for range steps {
				hs[i].step(t)
			}
		})
	}
	wg.Wait()

	var api, logins int
	codes := map[string]int{}
	for _, h := range hs {
		api += h.api
		logins += h.logins
		for c, n := range h.codes {
			codes[c] += n
		}
	}
	entries, dropped := s.Journal(0)
	if dropped != 0 {
		t.Fatalf("dropped = %d, want 0 (the ring is larger than the traffic)", dropped)
	}
	if len(entries) != api {
		t.Fatalf("journal holds %d entries, want one per API request: %d", len(entries), api)
	}

	// seq is contiguous from 1 in arrival order, and every entry is
	// complete, its done_seq set no earlier than its own arrival.
	var seqs []int64
	got := map[string]int{}
	for _, e := range entries {
		seqs = append(seqs, e.Seq)
		got[e.Code]++
		if e.Status == 0 || e.Time.IsZero() || e.V != fakebill.EntryVersion {
			t.Errorf("entry %d incomplete: %+v", e.Seq, e)
		}
		if e.DoneSeq < e.Seq || e.DoneSeq > int64(len(entries)) {
			t.Errorf("entry %d: done_seq %d, want in [seq, %d]", e.Seq, e.DoneSeq, len(entries))
		}
	}
	want := make([]int64, len(entries))
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, seqs); diff != "" {
		t.Errorf("seqs not contiguous from 1 (-want +got):\n%s", diff)
	}

	// The file sink has every entry in completion order, so done_seq
	// never goes down along it.
	var last int64
	lines := 0
	for line := range bytes.Lines(sink.Bytes()) {
		var e fakebill.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("sink line %d: %v", lines+1, err)
		}
		if e.DoneSeq < last {
			t.Errorf("sink line %d: done_seq %d after %d; completion order broken",
				lines+1, e.DoneSeq, last)
		}
		last = e.DoneSeq
		lines++
	}
	if lines != api {
		t.Errorf("file sink has %d lines, want %d", lines, api)
	}

	// What the clients saw is what the journal says.
	if diff := cmp.Diff(codes, got); diff != "" {
		t.Errorf("answers by code, clients' view vs journal (-clients +journal):\n%s", diff)
	}
	if st := s.Stats(); st.Logins != int64(logins) {
		t.Errorf("Stats().Logins = %d, clients saw %d successful logins", st.Logins, logins)
	}
	for _, c := range []string{"", fakebill.CodeSessionInvalid, fakebill.CodeSecretInURL} {
		if codes[c] == 0 {
			t.Errorf("no answer with code %q: the mix did not exercise it", c)
		}
	}
}

// lockedWriter serializes writes; the journal already holds its lock
// while writing, and the test's reads must not race with it.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestBoundsUnderConcurrency checks the session cap and the journal ring
// at their bounds while many goroutines push against them.
func TestBoundsUnderConcurrency(t *testing.T) {
	const (
		goroutines = 64
		each       = 10
		maxSess    = 100
		ring       = 50
	)
	var sink lockedWriter
	sink.w = new(bytes.Buffer)
	s := newFake(t, fakebill.Options{MaxSessions: maxSess, JournalSize: ring, JournalWriter: &sink})
	var ok, capped, other atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			h := &hammer{s: s, codes: map[string]int{}}
			for range each {
				switch _, code, _ := h.send(loginPath, loginForm(), ""); code {
				case "":
					ok.Add(1)
				case fakebill.CodeSystemError:
					capped.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()

	const total = goroutines * each
	if ok.Load() != maxSess || capped.Load() != total-maxSess || other.Load() != 0 {
		t.Errorf("logins: %d ok, %d BDC_1001, %d other; want %d, %d, 0",
			ok.Load(), capped.Load(), other.Load(), maxSess, total-maxSess)
	}
	st := s.Stats()
	if st.LiveSessions != maxSess || st.PeakSessions != maxSess {
		t.Errorf("live %d, peak %d; want both %d", st.LiveSessions, st.PeakSessions, maxSess)
	}
	entries, dropped := s.Journal(0)
	if len(entries) != ring || dropped != total-ring {
		t.Errorf("journal: %d entries, %d dropped; want %d and %d",
			len(entries), dropped, ring, total-ring)
	}
	// The ring keeps the last entries to complete, each with its note.
	for _, e := range entries {
		if e.DoneSeq <= total-ring {
			t.Errorf("ring kept entry done_seq %d, want only the last %d to complete",
				e.DoneSeq, ring)
		}
		if e.Code == fakebill.CodeSystemError && !strings.Contains(e.Note, "cap") {
			t.Errorf("BDC_1001 entry %d note %q, want it to name the cap", e.Seq, e.Note)
		}
	}
	var sinkLines []string
	for line := range strings.Lines(sink.w.String()) {
		sinkLines = append(sinkLines, line)
	}
	if len(sinkLines) != total {
		t.Errorf("file sink has %d lines, want all %d: the sink is lossless", len(sinkLines), total)
	}
}
