package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
)

// An id is 32 bytes, written base64url without padding:
//
//	[0:16]  random bytes from crypto/rand; also the table's map key
//	[16:24] the label, XORed with random[8:16] so ids look uniform
//	[24:32] the first 8 bytes of HMAC-SHA256(key, bytes[0:24])
//
// The MAC lets the table recognize any id it minted, long after it has
// forgotten the session, without storing past ids.
const (
	rawLen = 32

	// IDLen is the length in characters of every session id: 32 bytes
	// written in base64url without padding.
	IDLen = 43
)

// idAlphabet is the base64url alphabet; every id is IDLen of these.
const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// decodeTable maps an id character to its 6-bit value, or 0xff.
var decodeTable = func() (d [256]byte) {
	for i := range d {
		d[i] = 0xff
	}
	for i := 0; i < len(idAlphabet); i++ {
		d[idAlphabet[i]] = byte(i)
	}
	return d
}()

// IsIDChar reports whether c can appear in a session id.
func IsIDChar(c byte) bool { return decodeTable[c] != 0xff }

// decodeID decodes s into raw. It accepts only the canonical encoding:
// exactly IDLen characters and zero bits in the last character's unused
// low bits, so each id has one spelling.
func decodeID(s string, raw *[rawLen]byte) bool {
	if len(s) != IDLen {
		return false
	}
	var acc uint32
	var bits uint
	j := 0
	for i := 0; i < IDLen; i++ {
		v := decodeTable[s[i]]
		if v == 0xff {
			return false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			raw[j] = byte(acc >> bits)
			j++
			acc &= 1<<bits - 1
		}
	}
	return acc == 0 // 43*6 = 258 bits: 2 left over, which must be zero
}

func encodeID(raw *[rawLen]byte) string {
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// macPool holds HMAC states so that the MAC is computed outside the
// table's lock without allocating.
type macState struct {
	h   hash.Hash
	msg [24]byte // a copy, so that the caller's array stays on its stack
	sum [sha256.Size]byte
}

func (t *Table) newMAC() any {
	return &macState{h: hmac.New(sha256.New, t.key)}
}

// tag returns the MAC of raw[0:24] as it is stored in raw[24:32].
func (t *Table) tag(raw *[rawLen]byte) uint64 {
	m := t.macs.Get().(*macState)
	m.h.Reset()
	m.msg = [24]byte(raw[:24])
	m.h.Write(m.msg[:])
	m.h.Sum(m.sum[:0])
	v := binary.BigEndian.Uint64(m.sum[:8])
	t.macs.Put(m)
	return v
}

// fields splits a decoded id into its map key, label and stored tag.
func fields(raw *[rawLen]byte) (key [16]byte, label, tag uint64) {
	copy(key[:], raw[:16])
	label = binary.BigEndian.Uint64(raw[16:24]) ^ binary.BigEndian.Uint64(raw[8:16])
	tag = binary.BigEndian.Uint64(raw[24:32])
	return key, label, tag
}

// mayHaveIssued reports whether this table has handed out label.
func (t *Table) mayHaveIssued(label uint64) bool {
	return label != 0 && label <= t.issued.Load()
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// randomize fills the random part of raw; it never fails since Go 1.24.
func randomize(raw *[rawLen]byte) { rand.Read(raw[:16]) }

// seal writes label and the MAC into raw, whose random part is set, and
// returns the MAC.
func (t *Table) seal(raw *[rawLen]byte, label uint64) uint64 {
	binary.BigEndian.PutUint64(raw[16:24], label^binary.BigEndian.Uint64(raw[8:16]))
	tag := t.tag(raw)
	binary.BigEndian.PutUint64(raw[24:32], tag)
	return tag
}

// Minted reports whether s is an id this table minted, whatever became
// of the session, and returns its label. It checks only the id's shape,
// label and MAC, not the stored sessions, so it recognizes ended,
// expired and forgotten sessions alike. It takes no lock.
//
// Most strings fail before the MAC is computed: a random 43-character
// string decodes to a label far above any issued, which keeps the leak
// detector's search for ids inside long tokens cheap.
func (t *Table) Minted(s string) (label uint64, ok bool) {
	var raw [rawLen]byte
	if !decodeID(s, &raw) {
		return 0, false
	}
	_, label, tag := fields(&raw)
	if !t.mayHaveIssued(label) {
		return 0, false
	}
	// A single 64-bit comparison: no early exit to time.
	if t.tag(&raw) != tag {
		return 0, false
	}
	return label, true
}
