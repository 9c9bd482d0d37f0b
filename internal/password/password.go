// Package password hashes the passwords identity providers set for users
// (SCIM's password attribute), for the agent app's sign-in, with argon2id
// (RFC 9106).
//
// Hashes are PHC strings carrying their own parameters and salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// (salt and key in unpadded standard base64), so the parameters can be
// raised later without invalidating stored hashes: Verify uses the ones in
// the hash. It imports the standard library and x/crypto only.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// The parameters of new hashes: the first of OWASP's recommended argon2id
// configurations (Password Storage Cheat Sheet): 19 MiB of memory, two
// passes, one lane; a 16-byte random salt and a 32-byte key. On one core
// of a current server a hash takes about 20-40 ms, which bounds the cost
// of a burst of provisioning writes while keeping guessing slow.
const (
	Memory  uint32 = 19 * 1024 // KiB
	Time    uint32 = 2
	Threads uint8  = 1
	SaltLen        = 16
	KeyLen  uint32 = 32
)

// Limits on the parameters Verify accepts from a hash, so that a corrupted
// or planted hash cannot make one verification use unbounded memory or
// time.
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 16
	maxThreads = 16
	maxKeyLen  = 128
)

var b64 = base64.RawStdEncoding

// slots bounds the hashes computed at once to the CPUs: each takes 19 MiB
// and a core for its whole run, so more at once would only add memory (16
// concurrent provisioning writes with passwords grew the server past 500
// MB) without finishing any sooner. Callers beyond it wait their turn.
var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

// waiting counts the callers waiting for a slot.
var waiting atomic.Int64

// idKey is argon2.IDKey within a slot.
func idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	waiting.Add(1)
	slots <- struct{}{}
	waiting.Add(-1)
	defer func() { <-slots }()
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// Load reports the hashes being computed, the callers waiting for a
// slot, and the slots (the most hashes computed at once), for monitoring.
// The counts are read one after the other, not as one snapshot.
func Load() (running, queued, capacity int) {
	return len(slots), int(waiting.Load()), cap(slots)
}

// Hash returns the argon2id hash of password as a PHC string, with a new
// random salt (so two hashes of one password differ).
func Hash(password string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: read random salt: %w", err)
	}
	key := idKey([]byte(password), salt, Time, Memory, Threads, KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, Memory, Time, Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password is the one hash was made from,
// comparing the keys in constant time (the argument order of bcrypt's
// CompareHashAndPassword). A hash that is not an argon2id PHC string of
// version 19 with parameters within bounds ("" included) matches no
// password; Verify then still spends the time of a check with the current
// parameters, so that a caller checking a user without a password (or a
// missing user, Verify("", password)) takes as long as a real check.
func Verify(hash, password string) bool {
	p, ok := parse(hash)
	if !ok {
		idKey([]byte(password), make([]byte, SaltLen), Time, Memory, Threads, KeyLen)
		return false
	}
	got := idKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(got, p.key) == 1
}

// params are the parts of a hash.
type params struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parse reads a PHC string "$argon2id$v=19$m=..,t=..,p=..$salt$key".
func parse(hash string) (params, bool) {
	var p params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, false
	}
	var version int
	if n, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || n != 1 || version != argon2.Version {
		return p, false
	}
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil || n != 3 {
		return p, false
	}
	if fmt.Sprintf("m=%d,t=%d,p=%d", p.memory, p.time, p.threads) != parts[3] {
		return p, false // trailing text
	}
	if p.memory == 0 || p.memory > maxMemory || p.time == 0 || p.time > maxTime ||
		p.threads == 0 || p.threads > maxThreads || p.memory < 8*uint32(p.threads) {
		return p, false
	}
	var err error
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, false
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > maxKeyLen {
		return p, false
	}
	return p, true
}
