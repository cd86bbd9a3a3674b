package fakebill

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

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
	Seq          int64     `json:"seq"` // numbered on arrival, from 1
	Time         time.Time `json:"time"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	API          string    `json:"api"`
	Op           string    `json:"op,omitempty"`
	Account      string    `json:"account,omitempty"`
	Session      string    `json:"session,omitempty"`
	SessionVia   []string  `json:"session_via,omitempty"` // "field", "cookie", "query", "header"
	SessionState string    `json:"session_state"`
	CredFields   []string  `json:"cred_fields,omitempty"` // credentials sent on a non-Login call, by name or value
	DataSHA256   string    `json:"data_sha256,omitempty"` // of the raw data field
	Status       int       `json:"status"`
	Code         string    `json:"code,omitempty"` // BDC or FAKEBILL code of an error answer
	Leaks        []Leak    `json:"leaks,omitempty"`
	Note         string    `json:"note,omitempty"`
	DoneSeq      int64     `json:"done_seq"` // the latest Seq that had arrived when this request completed
}

// Leak is a secret found in a URL: which field it was (userName, password,
// devKey, sessionId) and where (query, path, referer, or userinfo: the
// user:password@ of an absolute request URL, whose user part is reported
// as userName and password part as password whatever their values).
type Leak struct {
	Field string `json:"field"`
	Where string `json:"where"`
}

// journal is the in-memory ring of entries plus the optional file sink.
type journal struct {
	seq atomic.Int64 // arrival counter; never restarts

	mu      sync.Mutex
	ring    [][]Entry // chunks of chunkLen entries; grows to limit, then wraps
	n       int       // entries held
	limit   int
	head    int // index of the oldest entry once the ring is full
	dropped int64
	w       io.Writer
	werr    error
	skipped int64         // entries the sink could not encode
	notify  chan struct{} // closed by the next add; made only once a reader asks
}

func (j *journal) init(size int, w io.Writer) {
	j.limit = size
	j.w = w
}

// nextSeq numbers a request on arrival.
func (j *journal) nextSeq() int64 { return j.seq.Add(1) }

// errEncode wraps the reason an entry could not be encoded for the sink.
var errEncode = errors.New("journal entry cannot be encoded")

// add numbers e on completion, stores it, writes it to the sink and wakes
// waiters. It returns the sink's error the first time the sink fails;
// the sink is not written again after that. An entry that cannot be
// encoded is skipped and counted, and its error, wrapping errEncode,
// returned; the sink stays open.
func (j *journal) add(e *Entry) (sinkErr error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	// done_seq is on the arrival scale, the latest seq that had arrived
	// when this request completed, so that a later request with seq >
	// done_seq provably arrived after this one completed: audit tells
	// concurrent requests from stale session reuse by it.
	e.DoneSeq = j.seq.Load()
	switch {
	case j.limit <= 0:
		j.dropped++
	case j.n < j.limit:
		if j.n%chunkLen == 0 {
			j.ring = append(j.ring, make([]Entry, 0, min(chunkLen, j.limit-j.n)))
		}
		last := &j.ring[len(j.ring)-1]
		*last = append(*last, *e)
		j.n++
	default:
		*j.at(j.head) = *e
		j.head = (j.head + 1) % j.limit
		j.dropped++
	}
	if j.w != nil && j.werr == nil {
		if b, err := json.Marshal(e); err != nil {
			j.skipped++
			sinkErr = fmt.Errorf("%w: %w", errEncode, err)
		} else {
			_, j.werr = j.w.Write(append(b, '\n'))
			sinkErr = j.werr
		}
	}
	if j.notify != nil {
		close(j.notify)
		j.notify = nil
	}
	return sinkErr
}

// since returns the entries with Seq > since in Seq order, and the channel
// the next add closes.
func (j *journal) since(since int64) ([]Entry, int64, <-chan struct{}) {
	j.mu.Lock()
	n := 0
	for i := range j.n {
		if j.at(i).Seq > since {
			n++
		}
	}
	var out []Entry
	if n > 0 {
		out = make([]Entry, 0, n) // one allocation, not a doubling per 2x
	}
	for i := range j.n {
		e := j.at((j.head + i) % j.n)
		if e.Seq > since {
			out = append(out, *e)
		}
	}
	if j.notify == nil {
		j.notify = make(chan struct{})
	}
	dropped, notify := j.dropped, j.notify
	j.mu.Unlock()
	// Completion order is seq order unless requests overlapped, so the
	// sort is usually skipped; it runs outside the lock either way.
	bySeq := func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) }
	if !slices.IsSortedFunc(out, bySeq) {
		slices.SortFunc(out, bySeq)
	}
	return out, dropped, notify
}

// chunkLen is the size of the ring's chunks: the ring grows a chunk at a
// time instead of copying itself, as one slice would at every doubling.
const chunkLen = 1024

// at returns the entry at ring index i; the caller holds j.mu.
func (j *journal) at(i int) *Entry { return &j.ring[i/chunkLen][i%chunkLen] }

func (j *journal) clear() {
	j.mu.Lock()
	j.ring, j.n, j.head = nil, 0, 0
	j.mu.Unlock()
}

func (j *journal) size() (n int, dropped, skipped int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n, j.dropped, j.skipped
}

// Journal returns the entries with Seq greater than since, in Seq order,
// and how many entries the ring has evicted since the server started. An
// entry appears once its request completes, so while requests overlap a
// later Seq can appear before an earlier one.
//
// BUG(fakebill): A poller that passes the largest Seq it has seen misses
// the entry of a request that arrived earlier but finished later; poll
// again from the smallest Seq not yet seen, or read once traffic stops.
func (s *Server) Journal(since int64) (entries []Entry, dropped int64) {
	entries, dropped, _ = s.journal.since(since)
	return entries, dropped
}

// WaitJournal is [Server.Journal], but waits until at least one entry
// after since exists or ctx is done.
func (s *Server) WaitJournal(ctx context.Context, since int64) ([]Entry, int64) {
	for {
		entries, dropped, changed := s.journal.since(since)
		if len(entries) > 0 {
			return entries, dropped
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, dropped
		}
	}
}

// ClearJournal empties the in-memory journal; Seq numbers continue and
// the file sink keeps what it has.
func (s *Server) ClearJournal() { s.journal.clear() }

// Leaks returns the journal entries that recorded a secret in a URL.
func (s *Server) Leaks() []Entry {
	all, _, _ := s.journal.since(0)
	var out []Entry
	for _, e := range all {
		if len(e.Leaks) > 0 {
			out = append(out, e)
		}
	}
	return out
}
