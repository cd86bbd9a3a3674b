package leak

import (
	"slices"
	"strings"

	"github.com/fakebill/toolkit/internal/session"
)

// span is a stretch of source text that holds a secret.
type span struct {
	start, end int
	field      string
}

// Redact returns s with every secret value and minted session id
// replaced by "[REDACTED:field]", whether it appears raw or
// percent-encoded once or twice. Overlapping matches are replaced as
// one. It returns s itself when there is nothing to redact. Its
// working memory is about 20 bytes per byte of s when s holds escapes,
// so redact large output a line at a time.
func (d *Detector) Redact(s string) string {
	sp := d.spans(s)
	if len(sp) == 0 {
		return s
	}
	out := replace(s, sp, true)
	// A secret may be rebuilt from a marker and the text around it
	// (think of a password "REDACTED:"). Cut such matches out, with no
	// marker, until none is left; each pass shortens the text, so this
	// ends.
	for {
		sp := d.spans(out)
		if len(sp) == 0 {
			return out
		}
		out = replace(out, sp, false)
	}
}

// spans returns the merged, ordered spans of s that hold a secret.
func (d *Detector) spans(s string) []span {
	var sp []span
	var buf [maxViews]view
	vs := views(s, &buf)
	for i := range vs {
		v := &vs[i]
		for _, sec := range d.secrets {
			for at := 0; ; at++ {
				k := strings.Index(v.s[at:], sec.Value)
				if k < 0 {
					break
				}
				at += k
				sp = append(sp, span{v.srcAt(at), v.srcAt(at + len(sec.Value)), sec.Field})
			}
		}
		d.ids(v, func(w int) {
			sp = append(sp, span{v.srcAt(w), v.srcAt(w + session.IDLen), "sessionId"})
		})
	}
	if len(sp) < 2 {
		return sp
	}
	slices.SortFunc(sp, func(a, b span) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end // the longer first: its field names the merge
	})
	merged := sp[:1]
	for _, x := range sp[1:] {
		last := &merged[len(merged)-1]
		if x.start < last.end {
			last.end = max(last.end, x.end)
			continue
		}
		merged = append(merged, x)
	}
	return merged
}

// replace returns s with each span replaced by its marker, or removed.
func replace(s string, sp []span, mark bool) string {
	var b strings.Builder
	b.Grow(len(s))
	at := 0
	for _, x := range sp {
		b.WriteString(s[at:x.start])
		if mark {
			b.WriteString("[REDACTED:")
			b.WriteString(x.field)
			b.WriteString("]")
		}
		at = x.end
	}
	b.WriteString(s[at:])
	return b.String()
}
