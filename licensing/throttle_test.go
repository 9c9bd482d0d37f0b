package licensing

import (
	"testing"
	"time"
)

func TestSignInDelay(t *testing.T) {
	var p SignInPolicy // the defaults: 1 s doubling up to 15 min
	for _, c := range []struct {
		failures, free int
		want           time.Duration
	}{
		{1, 5, 0}, {5, 5, 0}, {6, 5, time.Second}, {7, 5, 2 * time.Second}, {8, 5, 4 * time.Second},
		{15, 5, 512 * time.Second}, {16, 5, 15 * time.Minute}, {1000, 5, 15 * time.Minute},
		{20, 20, 0}, {21, 20, time.Second},
	} {
		if got := p.Delay(c.failures, c.free); got != c.want {
			t.Errorf("Delay(%d, %d) = %v, want %v", c.failures, c.free, got, c.want)
		}
	}
}

func TestSignInThrottleKeys(t *testing.T) {
	ann := SignInAttempt{Account: "Acme", UserName: "Ann@Example.com"}
	if userKey(ann) != userKey(SignInAttempt{Account: "acme", UserName: "ann@example.com"}) {
		t.Error("userNames differing in case have different keys")
	}
	if userKey(ann) == userKey(SignInAttempt{Account: "Acme2", UserName: "Ann@Example.com"}) {
		t.Error("one userName of two accounts has one key")
	}
	if userKey(SignInAttempt{Account: "a\x00b", UserName: "c"}) == userKey(SignInAttempt{Account: "a", UserName: "b\x00c"}) {
		t.Error("two attempts collide")
	}
	same := [][2]string{
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2:bbbb::2"}, // one /64
		{"192.0.2.7", "::ffff:192.0.2.7"},
	}
	for _, s := range same {
		if addressKey(SignInAttempt{Address: s[0]}) != addressKey(SignInAttempt{Address: s[1]}) {
			t.Errorf("%s and %s have different keys", s[0], s[1])
		}
	}
	differ := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"192.0.2.7", "192.0.2.8"},
		{"192.0.2.7", "unparsable"},
	}
	for _, d := range differ {
		if addressKey(SignInAttempt{Address: d[0]}) == addressKey(SignInAttempt{Address: d[1]}) {
			t.Errorf("%s and %s share a key", d[0], d[1])
		}
	}
	if userKey(SignInAttempt{UserName: "x"}) == addressKey(SignInAttempt{Address: "x"}) {
		t.Error("a userName and an address share a key")
	}
}
