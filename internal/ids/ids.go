// Package ids makes the identifiers of RocketFin objects: a type prefix
// ("ten_", "key_", "sc_", …) followed by 26 characters of Crockford base32
// that sort by creation time (48 bits of milliseconds, 80 random bits,
// monotonic within a process), so that "newest first" is "highest id first"
// and cursor pagination needs no second column.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Prefixes of the object types.
const (
	Tenant  = "ten_"
	Member  = "mem_"
	Key     = "key_"
	Score   = "sc_"
	Event   = "evt_"
	Consent = "con_"
	Usage   = "use_"
	Audit   = "aud_"
	Client  = "cli_"
	Session = "ses_"
	// Endpoint names webhook endpoints; Delivery one event's delivery to one endpoint.
	Endpoint = "we_"
	Delivery = "dlv_"
	Monitor  = "mon_"
	// SigningKey names the keys that sign OAuth2 access tokens (their JWK "kid").
	SigningKey = "sig_"
	// AccessToken names OAuth2 access tokens (their "jti").
	AccessToken = "at_"
)

var (
	mu     sync.Mutex
	lastMS uint64
	lastHi uint16
	lastLo uint64
)

// New returns a fresh id with the given prefix.
func New(prefix string) string {
	ms := uint64(time.Now().UnixMilli())
	mu.Lock()
	if ms <= lastMS {
		ms = lastMS
		lastLo++
		if lastLo == 0 {
			lastHi++
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:]) // never fails: the runtime aborts instead (Go 1.24+)
		lastMS = ms
		lastHi = binary.BigEndian.Uint16(b[:2])
		lastLo = binary.BigEndian.Uint64(b[2:])
	}
	hi, lo := lastHi, lastLo
	mu.Unlock()

	// 128 bits: 48 of time, 80 of entropy; 26 base32 digits hold 130 bits.
	var out [26]byte
	bits := [2]uint64{ms<<16 | uint64(hi), lo}
	for i := 25; i >= 0; i-- {
		out[i] = alphabet[bits[1]&31]
		bits[1] = bits[1]>>5 | bits[0]<<59
		bits[0] >>= 5
	}
	return prefix + string(out[:])
}

// Valid reports whether s has the given prefix and the shape of an id made
// by New. Handlers use it to answer a malformed id without a query.
func Valid(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(alphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}
