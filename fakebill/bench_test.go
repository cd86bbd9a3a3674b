package fakebill

import (
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so benchmarks measure
// the server rather than a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// benchRequest returns a reusable POST of form to path.
func benchRequest(path string, form url.Values) (*http.Request, func()) {
	body := form.Encode()
	rd := strings.NewReader(body)
	r, _ := http.NewRequest(http.MethodPost, "http://fake.test/api/v2/"+path, rd)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RequestURI = "/api/v2/" + path
	return r, func() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func BenchmarkLogin(b *testing.B) {
	s, _ := newTestServer(b, Options{JournalSize: 1024, MaxSessions: 1 << 28})
	r, reset := benchRequest("Login.json", loginForm(acctA))
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		reset()
		clear(w.h)
		s.ServeHTTP(w, r)
	}
	if w.code != http.StatusOK {
		b.Fatalf("login answered %d", w.code)
	}
}

// BenchmarkCall measures an authenticated call among many live sessions,
// and reports the heap each live session costs.
func BenchmarkCall(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
	}{{"sessions=1k", 1_000}, {"sessions=1M", 1_000_000}} {
		b.Run(bc.name, func(b *testing.B) {
			s, clk := newTestServer(b, Options{JournalSize: 1024})
			now := clk.Now()
			const sample = 1024
			ids := make([]string, 0, sample)
			before := heapInuse()
			for i := range bc.n {
				id, _, err := s.sessions.Create(1, now)
				if err != nil {
					b.Fatal(err)
				}
				if i%(bc.n/sample+1) == 0 && len(ids) < sample {
					ids = append(ids, id)
				}
			}
			perSession := float64(heapInuse()-before) / float64(bc.n)

			reqs := make([]*http.Request, len(ids))
			resets := make([]func(), len(ids))
			for i, id := range ids {
				reqs[i], resets[i] = benchRequest("Crud/Read/Vendor.json", callForm(acctA, id, `{"id":"0091"}`))
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				k := i % len(reqs)
				resets[k]()
				clear(w.h)
				s.ServeHTTP(w, reqs[k])
				i++
			}
			b.StopTimer()
			if w.code != http.StatusOK {
				b.Fatalf("call answered %d", w.code)
			}
			if e := lastEntry(b, s); e.Code != "" {
				b.Fatalf("call failed: %s", e.Code)
			}
			b.ReportMetric(perSession, "bytes/session")
		})
	}
}
