package fakebill

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/fakebill/toolkit/internal/leak"
)

// credValues are the credential values of one account that a call is
// searched for: a client that sends the password with every call under
// another name (a header, "pass=", a cookie, Authorization: Basic) sends
// credentials as surely as one that names the field "password". A value
// shorter than [leak.MinLen] is "" and never searched for, so that short
// demo values cannot match ordinary text.
type credValues struct {
	user, pass string
	minLen     int    // the length of the shorter of user and pass searched for
	devKey     string // the account's, which a call carries by design
}

func credValuesOf(a Account) credValues {
	long := func(v string) string {
		if utf8.RuneCountInString(v) < leak.MinLen {
			return ""
		}
		return v
	}
	c := credValues{user: long(a.UserName), pass: long(a.Password), devKey: a.DevKey}
	switch {
	case c.user == "":
		c.minLen = len(c.pass)
	case c.pass == "":
		c.minLen = len(c.user)
	default:
		c.minLen = min(len(c.user), len(c.pass))
	}
	return c
}

func (c credValues) empty() bool { return c.user == "" && c.pass == "" }

// noteCredValues adds to x.creds the credentials of the call's account
// whose values the request carries in a form key or value, a header
// value (percent-decoded too, and an Authorization: Basic credential
// decoded) or a cookie (the Cookie header). The account is the
// session's, else the devKey's, else every configured account. It
// records which fields, never a value, and allocates nothing unless a
// header is percent-encoded or carries a Basic credential.
func (s *Server) noteCredValues(x *exchange) {
	if x.creds.user && x.creds.pass {
		return
	}
	if n := x.acctN; n >= 1 && n <= len(s.credVals) {
		s.credVals[n-1].scan(x)
		return
	}
	if devKey, _ := x.form.get("devKey"); devKey != "" {
		found := false
		for i := range s.accounts {
			if s.accounts[i].DevKey == devKey {
				found = true
				s.credVals[i].scan(x)
			}
		}
		if found {
			return
		}
	}
	for i := range s.allCreds {
		s.allCreds[i].scan(x)
	}
}

// scan marks in x.creds the values of c the request carries. The
// account's own devKey and the id of the session presented, values a
// call carries by design, are not searched: a password that happens to
// be part of either must not mark every call.
func (c *credValues) scan(x *exchange) {
	if c.empty() {
		return
	}
	set := &x.creds
	for _, kv := range x.form.fields {
		if len(kv.key) >= c.minLen {
			c.match(kv.key, set)
		}
		v := kv.value
		if len(v) < c.minLen || v == c.devKey || (v == x.sessionID && x.acctN != 0) {
			continue
		}
		if kv.key == "data" {
			// A record may well hold the login's e-mail address (a
			// vendor's contact, say); only the password is out of place.
			c.matchPassword(v, set)
			continue
		}
		c.match(v, set)
	}
	if !x.hdrScan {
		return
	}
	for k, vs := range x.r.Header {
		for _, v := range vs {
			if headerValueMayHold(k, v) {
				c.matchHeader(v, set)
			}
		}
	}
}

// headerValueMayHold reports whether a credential may be in value v of
// header k: not when v is shorter than any searched for, nor in the
// Content-Type clients send.
func headerValueMayHold(k, v string) bool {
	return len(v) >= leak.MinLen && !(v == urlEncoded && k == "Content-Type")
}

// match marks in set each value of c that v contains.
func (c *credValues) match(v string, set *credSet) {
	if c.user != "" && !set.user && strings.Contains(v, c.user) {
		set.user = true
	}
	if c.pass != "" && !set.pass && strings.Contains(v, c.pass) {
		set.pass = true
	}
}

// matchPassword marks in set the password if v contains it.
func (c *credValues) matchPassword(v string, set *credSet) {
	if c.pass != "" && !set.pass && strings.Contains(v, c.pass) {
		set.pass = true
	}
}

// matchHeader is match for a header value, which may also carry a
// credential percent-encoded (a cookie, say) or as Basic user:password.
func (c *credValues) matchHeader(v string, set *credSet) {
	c.match(v, set)
	if strings.IndexByte(v, '%') >= 0 {
		if u, err := url.QueryUnescape(v); err == nil && u != v {
			c.match(u, set)
		}
	}
	if len(v) > len("Basic ") && strings.EqualFold(v[:len("Basic ")], "Basic ") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[len("Basic "):]))
		if err != nil {
			return
		}
		user, pass, ok := strings.Cut(string(b), ":")
		if !ok {
			c.match(user, set)
			return
		}
		// The user part is the userName, the rest the password; a
		// client may put either in the other's place.
		c.match(user, set)
		if c.pass != "" && strings.Contains(pass, c.pass) {
			set.pass = true
		} else if c.user != "" && strings.Contains(pass, c.user) {
			set.user = true
		}
	}
}
