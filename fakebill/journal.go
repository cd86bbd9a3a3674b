package fakebill

import "time"

// EntryVersion is the version of the journal entry schema, the "v" field.
const EntryVersion = 1

// Session states an [Entry] records.
const (
	SessionLive    = "live"    // valid when the request arrived
	SessionExpired = "expired" // idle past the timeout
	SessionEnded   = "ended"   // logged out or ended by the server
	SessionUnknown = "unknown" // not an id this server minted
	SessionAbsent  = "absent"  // the request carried none
)

// Entry is one journaled request. The same JSON appears in the file sink,
// the Go API and the control API. No field ever holds a secret: Path and
// Op have secrets replaced by "[REDACTED:field]", sessions and accounts
// appear only as labels.
type Entry struct {
	V            int       `json:"v"`
	Seq          int64     `json:"seq"`
	Time         time.Time `json:"time"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	API          string    `json:"api"`
	Op           string    `json:"op,omitempty"`
	Account      string    `json:"account,omitempty"`
	Session      string    `json:"session,omitempty"`
	SessionVia   []string  `json:"session_via,omitempty"` // "field", "cookie", "query", "header"
	SessionState string    `json:"session_state"`
	CredFields   []string  `json:"cred_fields,omitempty"` // credentials sent on a non-Login call
	DataSHA256   string    `json:"data_sha256,omitempty"` // of the raw data field
	Status       int       `json:"status"`
	Code         string    `json:"code,omitempty"` // BDC or FAKEBILL code of an error answer
	Leaks        []Leak    `json:"leaks,omitempty"`
	Note         string    `json:"note,omitempty"`
	DoneSeq      int64     `json:"done_seq"`
}

// Leak is a secret found in a URL: which field it was (userName, password,
// devKey, sessionId) and where (query, path, referer).
type Leak struct {
	Field string `json:"field"`
	Where string `json:"where"`
}
