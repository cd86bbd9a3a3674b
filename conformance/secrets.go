package conformance

import (
	"crypto/rand"
	"net/url"
	"strings"
)

// minPrefix is the shortest prefix of a secret that counts as showing it.
// Credentials are random, so 5 characters never match ordinary words.
const minPrefix = 5

// secret is one value that must never be shown, under its field name.
type secret struct {
	name  string // "password", "sessionId"
	value string
}

// forms returns the ways value can appear in text: as it is, and
// percent-encoded as in a query or a path.
//
// TODO(fakebill): every byte percent-encoded ("%76%35..."), hex and
// base64 forms are not looked for; they need a longer minimum prefix
// than 5 characters of the encoded form to avoid false matches.
func (s secret) forms() []string {
	f := []string{s.value}
	for _, e := range []string{url.QueryEscape(s.value), url.PathEscape(s.value)} {
		if e != s.value && !contains(f, e) {
			f = append(f, e)
		}
	}
	return f
}

// secretSet is the secrets of one check run. It is not safe for
// concurrent use; the runner guards it.
type secretSet []secret

// find returns the names of the secrets text shows, each once.
func (ss secretSet) find(text string) []string {
	var names []string
	for _, s := range ss {
		for _, f := range s.forms() {
			if strings.Contains(text, f[:min(len(f), minPrefix)]) {
				if !contains(names, s.name) {
					names = append(names, s.name)
				}
				break
			}
		}
	}
	return names
}

// redact replaces every secret in text, whole or as a prefix of at least
// minPrefix characters, in any of its forms, with [REDACTED:name].
func (ss secretSet) redact(text string) string {
	for _, s := range ss {
		for _, f := range s.forms() {
			text = redactForm(text, f, "[REDACTED:"+s.name+"]")
		}
	}
	return text
}

// redactForm replaces each run of text that starts with at least
// minPrefix characters of f and continues along f as far as it matches.
func redactForm(text, f, mark string) string {
	p := f[:min(len(f), minPrefix)]
	var b strings.Builder
	for {
		i := strings.Index(text, p)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		n := len(p)
		for i+n < len(text) && n < len(f) && text[i+n] == f[n] {
			n++
		}
		b.WriteString(text[:i])
		b.WriteString(mark)
		text = text[i+n:]
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + lowerAlnum
	// pwSpecial are characters that change under URL encoding, so that a
	// password's encoded form differs from its raw form.
	pwSpecial = "+&=%/!*-_.~"
)

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randomIndex(len(alphabet))]
	}
	return string(b)
}

// randomIndex returns a uniform index below n, by rejection sampling.
func randomIndex(n int) int {
	limit := 256 - 256%n
	var one [1]byte
	for {
		rand.Read(one[:])
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

// credentials are one run's fresh account, in realistic shapes.
type credentials struct {
	userName, password, orgID, devKey string
}

func newCredentials() credentials {
	// The password mixes 18 alphanumerics and 2 characters that URL
	// encoding changes, at random places past the prefix length.
	pw := []byte(randomString(20, alnum))
	for i := 0; i < 2; i++ {
		pw[minPrefix+randomIndex(len(pw)-minPrefix)] = pwSpecial[randomIndex(len(pwSpecial))]
	}
	return credentials{
		// Random from the first character, so that a 5-character prefix
		// is as unlikely in ordinary output as any other.
		userName: randomString(13, lowerAlnum) + "@example.com",
		password: string(pw),
		orgID:    "008" + randomString(17, alnum),
		devKey:   randomString(24, alnum),
	}
}
