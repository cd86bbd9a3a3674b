package conformance

import "github.com/fakebill/toolkit/fakebill"

// AuditOptions tunes the passive checks.
type AuditOptions struct {
	Only, Skip []string
	// TODO(fakebill): thresholds.
}

// Audit judges recorded traffic: one Result per passive catalog check.
func Audit(entries []fakebill.Entry, opts *AuditOptions) ([]Result, error) { return nil, nil }
