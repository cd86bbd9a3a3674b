package fakebill

import (
	"io"
	"log/slog"
	"time"
)

// Account is one Bill.com login the fake accepts: a user in an
// organization, with the developer key its calls must carry.
type Account struct {
	UserName string `json:"userName"`
	Password string `json:"password"`
	OrgID    string `json:"orgId"`
	DevKey   string `json:"devKey"`
	UsersID  string `json:"usersId,omitempty"` // default: derived from the account
	OrgName  string `json:"orgName,omitempty"` // default: "Demo Org"-style name
}

// DemoAccount is the published account the standalone server serves when
// given no other. Its secrets are public by design; no other account's are.
var DemoAccount = Account{
	UserName: "demo@example.com",
	Password: "demo-password",
	OrgID:    "00800000000000000001",
	DevKey:   "demo-dev-key",
	UsersID:  "00600000000000000001",
	OrgName:  "Demo Org",
}

// LeakMode says what the server does with a secret it finds in a URL.
type LeakMode string

const (
	// LeakRefuse answers HTTP 400, code FAKEBILL_SECRET_IN_URL, journals the
	// leak and ends a session whose id leaked. It is the default.
	LeakRefuse LeakMode = "refuse"
	// LeakRecord journals the leak and lets the request proceed.
	LeakRecord LeakMode = "record"
)

// Refresh says which calls reset a session's idle timer.
type Refresh string

const (
	// RefreshAny resets the timer on every call that presents a valid
	// session, whatever its outcome. It is the default.
	RefreshAny Refresh = "any"
	// RefreshSuccess resets it only on calls that succeed.
	RefreshSuccess Refresh = "success"
)

// Defaults for the zero values of [Options].
const (
	DefaultIdleTimeout = 35 * time.Minute
	DefaultPrefix      = "/api/v2"
	DefaultMaxSessions = 2_000_000
	DefaultMaxBody     = 10 << 20
	DefaultJournalSize = 100_000
)

// DefaultStartTime is where a manual clock starts unless told otherwise.
var DefaultStartTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configures a [Server]. The zero value serves [DemoAccount] on
// the wall clock with the defaults above.
type Options struct {
	// Accounts the fake accepts; nil means [DemoAccount].
	Accounts []Account

	// IdleTimeout after which an unused session is invalid; 0 means 35m.
	IdleTimeout time.Duration

	// Clock the server reads; nil means an [OffsetClock] (wall time that
	// the control API can move). It must read between 1970-01-01 and
	// 2200-01-01 UTC: NewServer refuses it otherwise, and while it reads
	// outside that range API calls answer BDC_1001.
	Clock Clock

	// Prefix of the v2 API; "" means "/api/v2".
	Prefix string

	// PublicURL, if set, is the v2 base URL Login returns as apiEndPoint;
	// otherwise it is built from the request's scheme, Host and Prefix.
	PublicURL string

	// Leaks is what to do with a secret found in a URL; "" means refuse.
	Leaks LeakMode

	// StrictEndpoints answers unregistered operations with 404 + BDC_1121
	// instead of a generic success.
	StrictEndpoints bool

	// SingleSession makes a new login end the account's older sessions.
	SingleSession bool

	// Refresh says which calls reset the idle timer; "" means any.
	Refresh Refresh

	// MaxSessions caps live sessions; past it Login answers BDC_1001.
	// 0 means 2,000,000.
	MaxSessions int

	// MaxBody caps request bodies in bytes; 0 means 10 MiB.
	MaxBody int64

	// JournalSize is the in-memory journal's ring size; 0 means 100,000.
	JournalSize int

	// JournalWriter, if set, receives every journal entry as a JSON line,
	// losslessly, in completion order.
	JournalWriter io.Writer

	// AdminDisabled turns off the control API except /_fakebill/health.
	AdminDisabled bool

	// AdminToken, if set, is the bearer token the control API requires
	// (except /_fakebill/health).
	AdminToken string

	// Logger receives one line per request; nil means silent.
	Logger *slog.Logger

	// CertPEM is served at /_fakebill/cert when the server runs TLS.
	CertPEM []byte
}
