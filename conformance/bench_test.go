package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/fakebill/toolkit/conformance"
)

// BenchmarkCatalog runs the whole catalog against the reference client:
// 17 fresh fakes on loopback sockets and about 10 hours of simulated
// client time per run, with no real sleeps.
func BenchmarkCatalog(b *testing.B) {
	subject := referenceSubject()
	var wall time.Duration
	for b.Loop() {
		start := time.Now()
		results, err := conformance.Evaluate(context.Background(), subject, nil)
		wall += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			if r.Status != conformance.Pass {
				b.Fatalf("%s: %s %v", r.ID, r.Status, r.Details)
			}
		}
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/run")
}
