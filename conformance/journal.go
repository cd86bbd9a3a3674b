package conformance

import (
	"fmt"
	"strings"

	"github.com/fakebill/toolkit/fakebill"
	"github.com/google/go-cmp/cmp"
)

// step is one request as failure details show it: never a secret, only
// labels, operations and answer codes.
type step struct {
	method, op string
	session    string // shown label; "" when none was sent
	state      string // the journal's session_state
	via        string // "" for the form field, else "cookie", "query", ...
	answer     string // "ok", a code, or "HTTP 503"
	extra      string // leaks, credentials sent
}

func (s step) String() string {
	var b strings.Builder
	b.WriteString(s.method + " " + s.op)
	if s.op == "Login" || s.op == "ListOrgs" {
		b.WriteString(" → " + s.answer)
		if s.answer == "ok" && s.session != "" {
			b.WriteString(", " + s.session)
		}
	} else {
		// A request a fault answered carries its label but keeps the
		// initial state, so the label decides.
		switch {
		case s.session != "":
			b.WriteString(" with " + s.session)
		case s.state == fakebill.SessionUnknown:
			b.WriteString(" with an unknown session")
		default:
			b.WriteString(" with no session")
		}
		if s.via != "" {
			b.WriteString(" (" + s.via + ")")
		}
		b.WriteString(" → " + s.answer)
	}
	if s.extra != "" {
		b.WriteString(" [" + s.extra + "]")
	}
	return b.String()
}

// labeler renames the fake's session labels to session#1, #2, ... in the
// order this run first used them, so that details read the same whatever
// the fake's counters.
type labeler map[string]string

func (r *runner) labeler() labeler {
	l := labeler{}
	for _, e := range r.all() {
		l.name(e.Session)
	}
	return l
}

func (l labeler) name(label string) string {
	if label == "" {
		return ""
	}
	if n, ok := l[label]; ok {
		return n
	}
	n := fmt.Sprintf("session#%d", len(l)+1)
	l[label] = n
	return n
}

func (l labeler) step(e fakebill.Entry) step {
	s := step{method: e.Method, op: e.Op, session: l.name(e.Session), state: e.SessionState, answer: answer(e)}
	if s.op == "" {
		s.op = e.Path
	}
	if via := strings.Join(e.SessionVia, "+"); via != "field" {
		s.via = via
	}
	var extra []string
	for _, k := range e.Leaks {
		extra = append(extra, k.Field+" in the "+k.Where)
	}
	if len(e.CredFields) > 0 {
		extra = append(extra, "sends "+strings.Join(e.CredFields, ", "))
	}
	s.extra = strings.Join(extra, "; ")
	return s
}

func answer(e fakebill.Entry) string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Status == 200:
		return "ok"
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// steps renders entries. Without extras, leaks and credentials sent are
// left out: diffs then show only what the check judges.
func (r *runner) steps(es []fakebill.Entry, extras bool) []string {
	l := r.labeler()
	out := make([]string, len(es))
	for i, e := range es {
		s := l.step(e)
		if !extras {
			s.extra = ""
		}
		out[i] = s.String()
	}
	return out
}

// show renders entries one per line, indented, for a finding; long
// sequences are cut.
func (r *runner) show(es []fakebill.Entry) string {
	const most = 24
	if len(es) == 0 {
		return "  (no request reached the server)"
	}
	more := ""
	if len(es) > most {
		more = fmt.Sprintf("\n  … and %d more", len(es)-most)
		es = es[:most]
	}
	return "  " + strings.Join(r.steps(es, true), "\n  ") + more
}

// diff renders got against the sequence a conformant client would send,
// as a go-cmp (-want +got) diff.
func (r *runner) diff(want []step, es []fakebill.Entry) string {
	w := make([]string, len(want))
	for i, s := range want {
		w[i] = s.String()
	}
	return "requests (-want +got):\n" + cmp.Diff(w, r.steps(es, false))
}

// via returns how this client sends its session ("" for the form field),
// so that wanted sequences match a cookie client's transport.
func via(es []fakebill.Entry) string {
	for _, e := range es {
		if len(e.SessionVia) > 0 {
			if v := strings.Join(e.SessionVia, "+"); v != "field" {
				return v
			}
			return ""
		}
	}
	return ""
}

// Predicates and counts over entries.

func isLogin(e fakebill.Entry) bool { return e.Op == "Login" }

func count(es []fakebill.Entry, pred func(fakebill.Entry) bool) int {
	n := 0
	for _, e := range es {
		if pred(e) {
			n++
		}
	}
	return n
}

func filter(es []fakebill.Entry, pred func(fakebill.Entry) bool) []fakebill.Entry {
	var out []fakebill.Entry
	for _, e := range es {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

func opIs(op string) func(fakebill.Entry) bool {
	return func(e fakebill.Entry) bool { return e.Op == op }
}

func codeIs(code string) func(fakebill.Entry) bool {
	return func(e fakebill.Entry) bool { return e.Code == code }
}

// last returns the last entry for op, and false if there is none.
func last(es []fakebill.Entry, op string) (fakebill.Entry, bool) {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Op == op {
			return es[i], true
		}
	}
	return fakebill.Entry{}, false
}
