package password

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the argon2id parameters", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("the hash contains the password")
	}
	if !Verify(h, "correct horse") {
		t.Fatal("the right password does not verify")
	}
	if Verify(h, "correct horsE") {
		t.Fatal("a wrong password verifies")
	}
	h2, err := Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyEmptyPassword(t *testing.T) {
	h, err := Hash("")
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(h, "") {
		t.Fatal("the empty password does not verify against its hash")
	}
	if Verify(h, "x") {
		t.Fatal("another password verifies against the empty password's hash")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	for _, h := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=999999999,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=0,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$",
		"$argon2id$v=19$m=19456,t=2$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1x$" + parts[4] + "$" + parts[5],
		good + "$extra",
	} {
		if Verify(h, "pw") {
			t.Errorf("Verify(%q) = true for a malformed hash", h)
		}
	}
}

func TestVerifyUsesTheHashParameters(t *testing.T) {
	// A hash made with other parameters (as before raising them) verifies
	// with its own.
	salt := []byte("somesaltsomesalt")
	key := argon2.IDKey([]byte("pw"), salt, 1, 64, 1, 32)
	h := fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	if !Verify(h, "pw") {
		t.Fatal("a hash with other parameters does not verify with its own")
	}
	if Verify(h, "other") {
		t.Fatal("a wrong password verifies against a hash with other parameters")
	}
}
