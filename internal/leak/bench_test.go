package leak

import (
	"strings"
	"testing"
)

// BenchmarkScan measures Scan on the URLs a client might send: an
// ordinary call, hostile 8 KiB URLs built to make the id search work
// hardest, and 20,000 parameters. minted-calls/op counts the windows
// the id search asked the session table about.
func BenchmarkScan(b *testing.B) {
	fx := newFixture(b)
	var calls int
	minted := func(s string) bool {
		calls++
		_, ok := fx.table.Minted(s)
		return ok
	}
	d := New(testSecrets, minted)
	const kib8 = 8 << 10
	cases := []struct {
		name, path, query, referer string
	}{
		{"clean", "/api/v2/Crud/Read/Vendor.json", "", "https://app.example/vendors"},
		{"hostile-id-run-8KiB", "/api/v2/x.json", "t=" + strings.Repeat("A", kib8), ""},
		{"hostile-escapes-8KiB", "/api/v2/x.json", strings.Repeat("%2541", kib8/5), ""},
		{"hostile-mixed-8KiB", "/" + strings.Repeat("Ab+_", kib8/8), strings.Repeat("%41+", kib8/8), ""},
		{"20000-params", "/api/v2/x.json", strings.Repeat("page=2&", 20_000), ""},
		{"20000-params-leak", "/api/v2/x.json", strings.Repeat("page=2&", 20_000) + "sid=" + fx.id, ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.path) + len(c.query) + len(c.referer)))
			calls = 0
			for b.Loop() {
				d.Scan(c.path, c.query, c.referer)
			}
			b.ReportMetric(float64(calls)/float64(b.N), "minted-calls/op")
		})
	}
}

// BenchmarkRedact measures Redact on a log line with and without a
// secret in it.
func BenchmarkRedact(b *testing.B) {
	fx := newFixture(b)
	line := "2026-01-01T00:00:00Z POST /api/v2/Crud/Read/Vendor.json 200 session#3 "
	for _, c := range []struct{ name, s string }{
		{"clean", line},
		{"secret", line + "password=" + password},
		{"id", line + "sessionId=" + fx.id},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				fx.d.Redact(c.s)
			}
		})
	}
}
