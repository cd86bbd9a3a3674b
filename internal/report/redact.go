package report

import (
	"net/url"
	"slices"
	"strings"

	"github.com/fakebill/toolkit/conformance"
)

// minPrefix is the shortest start of a secret that counts as the secret:
// clients have been seen logging the first five characters of a password.
const minPrefix = 5

// Secret is one value that must never appear in a report, and the field it
// belongs to ("password", "devKey", "userName", "sessionId").
type Secret struct {
	Field string
	Value string
}

// A Redactor replaces secrets in text with "[REDACTED:field]". It finds a
// secret raw, query-escaped and path-escaped, and any run of at least five
// of its leading characters, so a truncated secret is caught too. The zero
// value redacts nothing. A Redactor is safe for concurrent use once built.
type Redactor struct {
	forms []form
	first [256]bool // first bytes of the forms, to skip the rest fast
}

type form struct {
	field string
	text  string
}

// NewRedactor returns a Redactor for secrets. Empty values are ignored;
// values shorter than five characters are redacted only whole.
func NewRedactor(secrets ...Secret) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add adds secrets to r.
//
// TODO(fakebill): like the output-leak check, it knows the raw, query- and
// path-escaped forms only, not a secret with every byte percent-encoded. It must not be called while r is in use.
func (r *Redactor) Add(secrets ...Secret) {
	for _, s := range secrets {
		if s.Value == "" {
			continue
		}
		for _, t := range []string{s.Value, url.QueryEscape(s.Value), url.PathEscape(s.Value)} {
			f := form{s.Field, t}
			if !slices.Contains(r.forms, f) {
				r.forms = append(r.forms, f)
				r.first[t[0]] = true
			}
		}
	}
}

// Redact returns s with every secret, escaped form and 5+ character
// prefix of one replaced. Where several forms match at one place, the
// longest match wins.
func (r *Redactor) Redact(s string) string {
	if r == nil || len(r.forms) == 0 {
		return s
	}
	var b strings.Builder
	done := 0 // s[:done] is already in b
	for i := 0; i < len(s); {
		if !r.first[s[i]] {
			i++
			continue
		}
		n, field := r.match(s[i:])
		if n == 0 {
			i++
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString("[REDACTED:" + field + "]")
		i += n
		done = i
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// match returns the length of the longest secret form, or 5+ character
// prefix of one, that s starts with, and the form's field.
func (r *Redactor) match(s string) (n int, field string) {
	for _, f := range r.forms {
		need := min(minPrefix, len(f.text))
		if len(s) < need || s[0] != f.text[0] || s[:need] != f.text[:need] {
			continue
		}
		k := need
		for k < len(f.text) && k < len(s) && s[k] == f.text[k] {
			k++
		}
		if k > n {
			n, field = k, f.field
		}
	}
	return n, field
}

// Results returns a copy of results with every string redacted.
func (r *Redactor) Results(results []conformance.Result) []conformance.Result {
	out := make([]conformance.Result, len(results))
	for i, res := range results {
		res.ID = r.Redact(res.ID)
		res.Reason = r.Redact(res.Reason)
		res.Source = r.Redact(res.Source)
		res.Details = make([]string, len(results[i].Details))
		for j, d := range results[i].Details {
			res.Details[j] = r.Redact(d)
		}
		out[i] = res
	}
	return out
}
