package report

import (
	"io"
	"strings"
	"testing"

	"github.com/fakebill/toolkit/conformance"
)

// BenchmarkRedact measures redaction of a client log the size of a busy
// check's, with three secrets of which a few occur.
func BenchmarkRedact(b *testing.B) {
	r := NewRedactor(
		Secret{"userName", "u-4kq9zt@example.com"},
		Secret{"password", "Zx9!pL2#qW7$eR4%"},
		Secret{"devKey", "DK7Q2M9X4P1L8Z3N"},
	)
	line := "2026-01-01T00:00:00Z POST Crud/Read/Vendor.json -> 200 in 3ms, session renewed\n"
	text := strings.Repeat(line, 50) + "login as u-4kq9zt@example.com with Zx9!p...\n" + strings.Repeat(line, 50)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.Redact(text)
	}
}

// BenchmarkWriteJUnit measures a report of the whole catalog's size.
func BenchmarkWriteJUnit(b *testing.B) {
	rep := &Report{Tool: "fakebill test", Catalog: "1", Redactor: NewRedactor(Secret{"password", "Zx9!pL2#qW7$eR4%"})}
	for i := range 20 {
		rep.Results = append(rep.Results, conformance.Result{
			Check:   conformance.Check{ID: "check-" + string(rune('a'+i)), Level: conformance.MUST, Reason: "a reason of ordinary length for a check", Source: "BILL docs"},
			Status:  conformance.Fail,
			Details: []string{strings.Repeat("POST Crud/Read/Vendor with session#1 → BDC_1109\n", 20)},
		})
	}
	for b.Loop() {
		rep.WriteJUnit(io.Discard)
	}
	b.ReportMetric(float64(len(rep.Results)), "checks/op")
}
