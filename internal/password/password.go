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
// the hash. A server runs its hashes on a Pool, which bounds the hashes
// computed at once and the callers waiting. It imports the standard
// library, x/crypto and licensing (for ErrUnavailable) only.
package password

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

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

// Hash returns the argon2id hash of password as a PHC string, with a new
// random salt (so two hashes of one password differ). It runs at once, on
// the caller's goroutine: a server hashes through a Pool instead.
func Hash(password string) (string, error) {
	salt, err := newSalt()
	if err != nil {
		return "", err
	}
	return encode(salt, key([]byte(password), salt)), nil
}

// Verify reports whether password is the one hash was made from,
// comparing the keys in constant time (the argument order of bcrypt's
// CompareHashAndPassword). A hash that is not an argon2id PHC string of
// version 19 with parameters within bounds ("" included) matches no
// password; Verify then still spends the time of a check with the current
// parameters, so that a caller checking a user without a password (or a
// missing user, Verify("", password)) takes as long as a real check. It
// runs at once, on the caller's goroutine: a server verifies through a
// Pool instead.
func Verify(hash, password string) bool { return verify(hash, password) }

// newSalt returns a new random salt.
func newSalt() ([]byte, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("password: read random salt: %w", err)
	}
	return salt, nil
}

// key derives the key of password and salt with the current parameters.
func key(password, salt []byte) []byte {
	return argon2.IDKey(password, salt, Time, Memory, Threads, KeyLen)
}

// argon2Key derives the key of password with the parameters and salt of a
// stored hash.
func argon2Key(password []byte, p params) []byte {
	return argon2.IDKey(password, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
}

// encode returns the PHC string of a key made with the current
// parameters.
func encode(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, Memory, Time, Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
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
