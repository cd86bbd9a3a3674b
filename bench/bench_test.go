package bench

import (
	"net/http"
	"runtime"
	"testing"

	"github.com/fakebill/toolkit/fakebill"
)

// impls are the two handlers every floor benchmark runs, in this order.
var impls = []string{"fakebill", "floor"}

// newImpl returns a fresh handler of the named kind and, for the fake,
// a function that empties its journal.
func newImpl(b *testing.B, name string) (http.Handler, func()) {
	if name == "floor" {
		return newFloor(), nil
	}
	s := newFake(b, fakebill.Options{})
	return s, s.ClearJournal
}

// BenchmarkLogin measures a successful Login.json: fakebill's whole
// pipeline against the floor's parse, compare, mint, store and answer.
// Every iteration creates a session, so the table grows with b.N.
func BenchmarkLogin(b *testing.B) {
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) {
			h, _ := newImpl(b, impl)
			w := newSink()
			q := newRequest(loginPath, loginForm())
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				serve(b, h, w, q)
			}
			cpu.report(b)
		})
	}
}

// sessionCounts are the live-session counts BenchmarkCall compares.
// Per-call cost should stay flat from one to the next; pick sizes with
// -bench 'Call/sessions=(1k|1M)/'.
var sessionCounts = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}

// BenchmarkCall measures an authenticated call (Crud/Read/Vendor.json,
// a generic success) with n live sessions, cycling through 1,000 of
// them spread over the table. The garbage each request leaves drives
// the collector at the default GOGC, so its cost of scanning the
// sessions is part of the figure. bytes/session is the heap the live
// sessions hold, journal excluded.
func BenchmarkCall(b *testing.B) {
	for _, sz := range sessionCounts {
		b.Run("sessions="+sz.name, func(b *testing.B) {
			for _, impl := range impls {
				var f *filled
				b.Run("impl="+impl, func(b *testing.B) {
					if f == nil {
						h, clear := newImpl(b, impl)
						f = fill(b, h, sz.n, clear)
					}
					runCalls(b, f)
				})
				f = nil
				runtime.GC() // leave no garbage of this handler to the next
			}
		})
	}
}

// runCalls calls f's hot sessions in turn for b.N iterations and
// reports allocations, bytes per session and collections per call.
func runCalls(b *testing.B, f *filled) {
	w := newSink()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	i := 0
	for b.Loop() {
		serve(b, f.h, w, f.hot[i])
		if i++; i == len(f.hot) {
			i = 0
		}
	}
	cpu.report(b)
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(f.perSession, "bytes/session")
	b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(b.N)*1e6, "GCs/Mop")
}

// BenchmarkCallParallel is BenchmarkCall with 1k sessions from every
// core at once; run it with -cpu 1,2 to see what the locks cost.
func BenchmarkCallParallel(b *testing.B) {
	for _, impl := range impls {
		b.Run("impl="+impl, func(b *testing.B) {
			h, clear := newImpl(b, impl)
			f := fill(b, h, 1_000, clear)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			defer cpu.report(b)
			b.RunParallel(func(pb *testing.PB) {
				w := newSink()
				i := 0
				for pb.Next() {
					serve(b, f.h, w, f.hot[i%len(f.hot)])
					i += 7
				}
			})
		})
	}
}

// BenchmarkCallLeakScan measures a whole call whose URL the leak
// detector must read: a clean short query, and hostile 8 KiB queries
// built to make the search for minted ids work hardest. None carries a
// secret, so every call succeeds. internal/leak's BenchmarkScan
// measures the detector alone on the same shapes.
func BenchmarkCallLeakScan(b *testing.B) {
	const kib8 = 8 << 10
	s := newFake(b, fakebill.Options{})
	sid := sessionOf(b, s)
	for _, c := range []struct{ name, query string }{
		{"clean", "page=2"},
		{"hostile-id-run-8KiB", "t=" + repeat("A", kib8)},
		{"hostile-escapes-8KiB", "t=" + repeat("%2541", kib8/5)},
		{"hostile-20000-params", repeat("page=2&", 20_000)},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := newRequest(callPath+"?"+c.query, callForm(sid))
			w := newSink()
			b.ReportAllocs()
			b.SetBytes(int64(len(c.query)))
			for b.Loop() {
				serve(b, s, w, q)
			}
		})
	}
}

// BenchmarkJournalAppend measures the cheapest journaled request, an
// unknown path under the prefix (404, BDC_1121, no form, no session),
// with the ring below and at its bound (every append evicts), and with
// a JSON-lines sink, whose encoding is on the request's path.
func BenchmarkJournalAppend(b *testing.B) {
	for _, c := range []struct {
		name string
		opts fakebill.Options
		pre  int // requests before the timer starts
	}{
		{"ring=100k", fakebill.Options{}, 0},
		{"ring=full", fakebill.Options{JournalSize: 1000}, 1000},
		{"sink=json", fakebill.Options{JournalWriter: discard{}}, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := newFake(b, c.opts)
			q := newRequest("/api/v2/nope", nil)
			w := newSink()
			send := func() {
				w.reset()
				s.ServeHTTP(w, q.make())
				if w.code != http.StatusNotFound {
					b.Fatalf("status %d, want 404", w.code)
				}
			}
			for range c.pre {
				send()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				send()
			}
			b.StopTimer()
			if c.pre > 0 {
				if st := s.Stats(); st.Dropped < int64(b.N) {
					b.Fatalf("dropped = %d after %d appends to a full ring, want at least %d", st.Dropped, b.N, b.N)
				}
			}
		})
	}
}

// BenchmarkJournalRead measures reading the whole in-memory journal at
// its default bound, as an audit or a test's cleanup does.
func BenchmarkJournalRead(b *testing.B) {
	s := newFake(b, fakebill.Options{})
	q := newRequest("/api/v2/nope", nil)
	w := newSink()
	for range fakebill.DefaultJournalSize {
		w.reset()
		s.ServeHTTP(w, q.make())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got, _ := s.Journal(0); len(got) != fakebill.DefaultJournalSize {
			b.Fatalf("journal holds %d entries, want %d", len(got), fakebill.DefaultJournalSize)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

// sessionOf logs in to s and returns the session id.
func sessionOf(tb testing.TB, s http.Handler) string {
	return login(tb, s, newSink(), newRequest(loginPath, loginForm()))
}
