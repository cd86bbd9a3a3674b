package leak

import "strings"

// A view is a text as a client may have meant it: the raw text, or the
// raw text percent-decoded once or twice, with or without '+' read as a
// space. Every byte of a view comes from a contiguous span of the
// source, so a match in a view maps back to the source text.
type view struct {
	s string
	// src[i] is the source offset where s[i] begins; src[len(s)] is the
	// source length. nil means the view is the source itself.
	src []int32
	// par[i] is the same offset in the parent view; a window of s whose
	// parent span has the window's own length was already in the parent
	// unchanged. nil for the source.
	par []int32
}

// srcAt returns the source offset of view offset i.
func (v *view) srcAt(i int) int {
	if v.src == nil {
		return i
	}
	return int(v.src[i])
}

// fresh reports whether the window s[i:j] differs from its parent's
// text, that is whether a search of the parent could not have seen it.
func (v *view) fresh(i, j int) bool {
	return v.par == nil || int(v.par[j]-v.par[i]) != j-i
}

// maxViews is the most views a text has: raw, and decoded once and
// twice with and without '+' as a space.
const maxViews = 5

// views returns the source's views in buf, skipping any that would
// equal the one it is decoded from.
func views(s string, buf *[maxViews]view) []view {
	raw := view{s: s}
	vs := append(buf[:0], raw)
	if !strings.ContainsAny(s, "%+") {
		return vs
	}
	plus, ok := decode(&raw, true)
	if ok {
		vs = append(vs, plus)
		if twice, ok := decode(&plus, true); ok {
			vs = append(vs, twice)
		}
	}
	// '+' kept as '+': only differs if there was a '+' to keep.
	if strings.IndexByte(s, '+') >= 0 {
		if once, ok := decode(&raw, false); ok {
			vs = append(vs, once)
			if twice, ok := decode(&once, false); ok {
				vs = append(vs, twice)
			}
		}
	}
	return vs
}

// decode percent-decodes p once, tolerantly: an escape that is not '%'
// and two hex digits stays as it is, as a lenient server would keep it.
// With plus set, '+' reads as a space. It reports whether anything
// changed.
func decode(p *view, plus bool) (view, bool) {
	s := p.s
	b := make([]byte, 0, len(s))
	par := make([]int32, 0, len(s)+1)
	changed := false
	for i := 0; i < len(s); {
		par = append(par, int32(i))
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 3
			changed = true
		case c == '+' && plus:
			b = append(b, ' ')
			i++
			changed = true
		default:
			b = append(b, c)
			i++
		}
	}
	if !changed {
		return view{}, false
	}
	par = append(par, int32(len(s)))
	src := par
	if p.src != nil {
		src = make([]int32, len(par))
		for i, o := range par {
			src[i] = p.src[o]
		}
	}
	return view{s: string(b), src: src, par: par}, true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
