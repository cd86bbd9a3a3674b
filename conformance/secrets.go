package conformance

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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

// minInner is the shortest run of a secret's random characters, taken
// from anywhere in it, that counts as showing it: a password's last six
// characters leak as much as its first five.
const minInner = 6

// form is one way a secret can appear in text, and the shortest prefix
// of it that counts: encodings with a small alphabet (hex) or that smear
// characters together (base64) need more before a match means anything.
type form struct {
	text string
	min  int
}

// forms returns the ways value can appear in text: as it is,
// percent-encoded as in a query or a path, base64 (standard and URL
// alphabets, padded or not) and hex.
func (s secret) forms() []form {
	var fs []form
	add := func(text string, min int) {
		for _, f := range fs {
			if f.text == text {
				return
			}
		}
		fs = append(fs, form{text, min})
	}
	add(s.value, minPrefix)
	add(url.QueryEscape(s.value), minPrefix)
	add(url.PathEscape(s.value), minPrefix)
	b := []byte(s.value)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b), 12)
	}
	add(hex.EncodeToString(b), 16)
	return fs
}

// inner returns every minInner-character run of the secret's random
// part: for a userName, the part before the '@', since the domain is
// ordinary text.
func (s secret) inner() []string {
	v := s.value
	if s.name == "userName" {
		v, _, _ = strings.Cut(v, "@")
	}
	var runs []string
	for i := 0; i+minInner <= len(v); i++ {
		if !contains(runs, v[i:i+minInner]) {
			runs = append(runs, v[i:i+minInner])
		}
	}
	return runs
}

// secretSet is the secrets of one check run. It is not safe for
// concurrent use; the runner guards it.
type secretSet []secret

// find returns the names of the secrets text shows, each once.
func (ss secretSet) find(text string) []string {
	var names []string
	for _, s := range ss {
		if ss.shows(s, text) && !contains(names, s.name) {
			names = append(names, s.name)
		}
	}
	return names
}

func (ss secretSet) shows(s secret, text string) bool {
	for _, f := range s.forms() {
		if strings.Contains(text, f.text[:min(len(f.text), f.min)]) {
			return true
		}
	}
	for _, run := range s.inner() {
		if strings.Contains(text, run) {
			return true
		}
	}
	return false
}

// redact replaces every secret in text, whole, as a prefix in any of its
// forms, or as a run of minInner characters from within it, with
// [REDACTED:name].
func (ss secretSet) redact(text string) string {
	for _, s := range ss {
		mark := "[REDACTED:" + s.name + "]"
		for _, f := range s.forms() {
			text = redactForm(text, f, mark)
		}
		for _, run := range s.inner() {
			text = strings.ReplaceAll(text, run, mark)
		}
	}
	return text
}

// redactForm replaces each run of text that starts with at least f.min
// characters of f and continues along f as far as it matches.
func redactForm(text string, f form, mark string) string {
	p := f.text[:min(len(f.text), f.min)]
	var b strings.Builder
	for {
		i := strings.Index(text, p)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		n := len(p)
		for i+n < len(text) && n < len(f.text) && text[i+n] == f.text[n] {
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
