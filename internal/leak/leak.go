// Package leak finds credentials and session ids in URLs and redacts
// them from text.
//
// A URL leaks a credential in three ways: by a query key that names one
// (password=, Session-Id=, sid=), whatever its value; by carrying a
// secret's value anywhere, under any key, in the path or in a Referer;
// and by userinfo (user:password@) in an absolute request URL.
// Values are matched raw and percent-decoded once and twice, since a
// client that encodes twice leaks just the same. Session ids are matched
// by asking the session table whether a string is an id it minted, so
// ids of ended and forgotten sessions are caught too.
package leak

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/fakebill/toolkit/internal/session"
)

// MinLen is the shortest secret value, in characters, that is looked
// for by value. Shorter ones would match ordinary text.
const MinLen = 8

// Secret is a credential to look for by value.
type Secret struct {
	Field string // "userName", "password" or "devKey"
	Value string
}

// Finding is one leak. It never holds a secret except SessionID.
type Finding struct {
	// Field is the credential that leaked: "userName", "password",
	// "devKey" or "sessionId" (also for the key sid).
	Field string
	// Where is "userinfo" (the user:password@ of an absolute request
	// URL), "path", "query" or "referer".
	Where string
	// SessionID is the minted session id found, so that the server can
	// end its session; "" for other fields and for a sessionId key whose
	// value is not a minted id.
	SessionID string
}

// Where values, in the order findings are reported.
var whereRank = map[string]int{"userinfo": 0, "path": 1, "query": 2, "referer": 3}

// Detector finds leaks. It is safe for concurrent use.
type Detector struct {
	secrets []Secret
	minted  func(string) bool
}

// New returns a Detector for the given secrets and for every session id
// for which minted reports true; minted may be nil. Secrets shorter than
// [MinLen] characters are ignored: report them with [ShortSecrets].
func New(secrets []Secret, minted func(string) bool) *Detector {
	d := &Detector{minted: minted}
	for _, s := range secrets {
		if utf8.RuneCountInString(s.Value) >= MinLen && !slices.Contains(d.secrets, s) {
			d.secrets = append(d.secrets, s)
		}
	}
	return d
}

// ShortSecrets returns the secrets too short to be found by value, for
// a warning at start. The caller must not print their values.
func ShortSecrets(secrets []Secret) []Secret {
	var short []Secret
	for _, s := range secrets {
		if utf8.RuneCountInString(s.Value) < MinLen {
			short = append(short, s)
		}
	}
	return short
}

// Scan returns the leaks in a request's path, raw query and Referer
// headers (every one a request carries), without duplicates, ordered by
// Where (path, query, referer), then Field, then SessionID. It returns
// nil when there are none.
//
// Keys are judged in the request's query and in the Referers': a page
// whose address carries sessionId= has put a session in a URL that
// browsers keep in their history and send on to other hosts.
func (d *Detector) Scan(path, rawQuery string, referers ...string) []Finding {
	var fs []Finding
	fs = d.scanValues(fs, path, "path")
	fs = d.scanValues(fs, rawQuery, "query")
	fs = scanKeys(fs, rawQuery, "query")
	for _, r := range referers {
		fs = d.scanValues(fs, r, "referer")
		fs = scanKeys(fs, refererQuery(r), "referer")
	}
	return tidy(fs)
}

// ScanUserinfo returns the leaks in the userinfo of an absolute request
// URL ("user:password@" before the host), in the order of [Detector.Scan].
// Userinfo sent to an API is always a credential in a URL: a non-empty
// user is reported as userName and a password as password, whatever
// their values, besides any secret or minted session id they hold.
func (d *Detector) ScanUserinfo(u *url.Userinfo) []Finding {
	if u == nil {
		return nil
	}
	var fs []Finding
	user := u.Username()
	pass, hasPass := u.Password()
	if user != "" {
		fs = append(fs, Finding{Field: "userName", Where: "userinfo"})
	}
	if hasPass {
		fs = append(fs, Finding{Field: "password", Where: "userinfo"})
	}
	// Each part apart, so that no match spans the colon between them.
	fs = d.scanValues(fs, user, "userinfo")
	fs = d.scanValues(fs, pass, "userinfo")
	return tidy(fs)
}

// tidy sorts findings, drops duplicates, and reports a sessionId key
// whose value was a minted id once, with the id. It returns nil for
// none.
func tidy(fs []Finding) []Finding {
	if len(fs) == 0 {
		return nil
	}
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(whereRank[a.Where], whereRank[b.Where]),
			strings.Compare(a.Field, b.Field),
			strings.Compare(a.SessionID, b.SessionID))
	})
	fs = slices.Compact(fs)
	// A sessionId key whose value was a minted id is reported once,
	// with the id.
	var withID [4]bool // by whereRank
	for _, f := range fs {
		if f.SessionID != "" {
			withID[whereRank[f.Where]] = true
		}
	}
	return slices.DeleteFunc(fs, func(f Finding) bool {
		return f.Field == "sessionId" && f.SessionID == "" && withID[whereRank[f.Where]]
	})
}

// scanValues appends a finding for every secret and minted id in text.
//
// TODO(fakebill): match userNames without regard to case; an e-mail
// address a client lower-cased still names the account.
// TODO(fakebill): search all secrets in one pass (Aho-Corasick) if
// servers with thousands of accounts matter; each secret is one
// strings.Contains per view today.
func (d *Detector) scanValues(fs []Finding, text, where string) []Finding {
	if text == "" {
		return fs
	}
	var buf [maxViews]view
	vs := views(text, &buf)
	for _, s := range d.secrets {
		for i := range vs {
			if strings.Contains(vs[i].s, s.Value) {
				fs = append(fs, Finding{Field: s.Field, Where: where})
				break
			}
		}
	}
	for i := range vs {
		d.ids(&vs[i], func(start int) {
			// A copy: the view may be a large decoded string.
			id := strings.Clone(vs[i].s[start : start+session.IDLen])
			fs = append(fs, Finding{Field: "sessionId", Where: where, SessionID: id})
		})
	}
	return fs
}

// ids calls found with the offset of every minted id in v that its
// parent view did not already show. An id may sit inside a longer run
// of id characters (a token with the id glued to other text), so every
// window of a run is tried: linear in the length of v. Each window
// costs a base64 decode; the table computes a MAC only for a window
// whose label it has issued, so an 8 KiB run costs well under 1 ms.
func (d *Detector) ids(v *view, found func(start int)) {
	if d.minted == nil {
		return
	}
	s := v.s
	for i := 0; i < len(s); {
		if !session.IsIDChar(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && session.IsIDChar(s[j]) {
			j++
		}
		for w := i; w+session.IDLen <= j; w++ {
			if v.fresh(w, w+session.IDLen) && d.minted(s[w:w+session.IDLen]) {
				found(w)
			}
		}
		i = j
	}
}

// scanKeys appends a finding for every query key that names a
// credential. The query is split by hand on both '&' and ';', with no
// limit on the number of pairs: net/url would drop ';' pairs, stop at
// 10,000 and skip bad escapes, each a way to smuggle a key past us.
func scanKeys(fs []Finding, rawQuery, where string) []Finding {
	var buf []byte
	for rawQuery != "" {
		var pair string
		if i := strings.IndexAny(rawQuery, "&;"); i >= 0 {
			pair, rawQuery = rawQuery[:i], rawQuery[i+1:]
		} else {
			pair, rawQuery = rawQuery, ""
		}
		key, _, _ := strings.Cut(pair, "=")
		var field string
		field, buf = keyField(key, buf)
		if field != "" {
			fs = append(fs, Finding{Field: field, Where: where})
		}
	}
	return fs
}

// refererQuery returns the raw query of a Referer header: what follows
// the first '?', up to any fragment.
func refererQuery(referer string) string {
	_, q, ok := strings.Cut(referer, "?")
	if !ok {
		return ""
	}
	q, _, _ = strings.Cut(q, "#")
	return q
}

// keyFields maps a key's lower-case letters to the credential it
// names, or "". The list is closed.
func keyFields(letters string) string {
	switch letters {
	case "username":
		return "userName"
	case "password":
		return "password"
	case "devkey":
		return "devKey"
	case "sessionid", "sid":
		return "sessionId"
	}
	return ""
}

// keyField returns the credential a query key names, judged on its
// letters alone (so session_id, Session-Id and sessionid[] count),
// raw and percent-decoded once and twice; or "". buf is scratch space,
// returned for reuse.
func keyField(key string, buf []byte) (string, []byte) {
	for level := 0; ; level++ {
		b, n := letters(key)
		if f := keyFields(string(b[:n])); f != "" {
			return f, buf
		}
		if level == 2 || strings.IndexByte(key, '%') < 0 {
			return "", buf
		}
		buf = unescape(buf[:0], key)
		key = string(buf)
	}
}

// letters returns the ASCII letters of s in lower case, or none once
// there are more than any credential key has.
func letters(s string) (b [len("sessionid")]byte, n int) {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case, for letters only
		if 'a' <= c && c <= 'z' {
			if n == len(b) {
				return b, 0
			}
			b[n] = c
			n++
		}
	}
	return b, n
}

// unescape appends s, percent-decoded once and tolerantly, to dst.
func unescape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}
