// Package conformance checks that a Bill.com API client handles sessions
// correctly: it logs in once, re-logs in and replays after expiry, and
// never leaks a credential.
//
// Describe the client as a [Subject] and run the catalog from a test:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Subject{API: "v2", New: newMyClient}, nil)
//	}
//
// Each check ([Checks] lists them; docs/CHECKS.md explains them) gets a
// fresh fake Bill.com server on loopback, fresh random credentials and a
// fresh client, and moves the fake's clock instead of waiting. [Evaluate]
// returns the results for reports of one's own, [TestClient] the failures
// as errors. The fakebill command's conform subcommand runs the same
// catalog against clients in any language through an adapter process.
//
// The passive checks (those that need [CapPassive]) are judged from
// recorded traffic by [Audit].
package conformance

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/benbjohnson/clock"
)

// CatalogVersion is the catalog's version, carried by every report. It
// changes whenever a check is added or its verdicts change.
const CatalogVersion = "1"

// Level is how binding a check is.
type Level string

// The levels. A failed MUST check fails a run; a failed SHOULD check
// fails it only when the caller enforces SHOULD checks.
const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
)

// Capability is something a check needs from the client under test.
type Capability string

// The capabilities. A check whose capability the subject lacks is
// skipped, never passed.
const (
	CapCalls      Capability = "calls"      // every check
	CapConcurrent Capability = "concurrent" // concurrent Call
	CapClose      Capability = "close"      // Close ends the session
	CapClock      Capability = "clock"      // an injectable *clock.Mock
	CapPassive    Capability = "journal"    // judged by audit from recorded traffic
)

// Check describes one entry of the catalog.
type Check struct {
	ID      string       `json:"id"`                // stable, kebab-case
	Level   Level        `json:"level"`             // MUST or SHOULD
	Reason  string       `json:"reason"`            // what a conformant client does
	Source  string       `json:"source"`            // BILL's docs or an OWASP ASVS 5.0 requirement
	Needs   []Capability `json:"needs,omitempty"`   // capabilities the check needs
	Aliases []string     `json:"aliases,omitempty"` // former ids

	// Scenario says how the check drives the client and what fails it;
	// empty for passive checks.
	Scenario string `json:"scenario,omitempty"`
}

// Env is what a client under test is given: where the fake is and the
// fresh credentials it accepts.
type Env struct {
	BaseURL    string // v2 base URL, no trailing slash
	UserName   string
	Password   string
	OrgID      string
	DevKey     string
	HTTPClient *http.Client
	Clock      *clock.Mock // nil unless Subject.UsesClock
	Log        io.Writer   // where the client writes its logs; scanned for secrets
}

// Client is the client under test as the checks drive it.
type Client interface {
	// Call performs one API call (path like "Crud/Read/Vendor.json", data
	// marshalled to the data field) and returns the response_data.
	Call(ctx context.Context, path string, data any) (json.RawMessage, error)
	// Close releases the client; a client that logs out does so here.
	Close() error
}

// Subject describes a client to check.
type Subject struct {
	// Name labels reports; optional.
	Name string
	// New builds a fresh client for env.
	New func(env Env) (Client, error)
	// API is "v2" (or "", meaning "v2"); "v3" is reserved and refused as
	// a setup error.
	API string
	// Concurrent says Call is safe to use from several goroutines at once.
	Concurrent bool
	// UsesClock asks for Env.Clock.
	UsesClock bool
	// NoClose says Close does nothing worth checking (skips the logout check).
	NoClose bool
}

// Options selects and shapes a run. A nil *Options means every check
// with the defaults.
type Options struct {
	Only     []string // run only these ids
	Skip     []string // skip these ids
	Synctest bool     // Run: each check in its own testing/synctest bubble

	// Strict makes Run fail the test on SHOULD checks too, as
	// "fakebill conform -strict" does. Without it a failed SHOULD check is
	// a skipped subtest that shows its details. TestClient and Evaluate
	// report every failure either way.
	Strict bool

	// CallTimeout bounds each Call and Close; past it (and a short grace
	// for clients that ignore their context) the check fails. 0 means
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

func (o *Options) strict() bool { return o != nil && o.Strict }

func (o *Options) callTimeout() time.Duration {
	if o == nil || o.CallTimeout <= 0 {
		return DefaultCallTimeout
	}
	return o.CallTimeout
}

// Status is a check's outcome.
type Status string

// The statuses. Evaluate reports pass, fail or skip; report writers mark
// failures listed in a baseline as known.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Skip  Status = "skip"
	Known Status = "known" // failing, but listed in a baseline
)

// Result is one check's outcome.
type Result struct {
	Check
	Status  Status   `json:"status"`
	Details []string `json:"details,omitempty"` // redacted
}

// ProblemReporter is implemented by a Client that can see problems outside
// its calls: protocol errors, a crash, an attempt to reach another host.
// After each check the runner asks, and each problem fails that check.
type ProblemReporter interface {
	Problems() []string
}
