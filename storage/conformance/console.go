package conformance

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// consoleSession stores a new console session of the user, signed in at
// at, and returns its hash.
func consoleSession(t *testing.T, s licensing.Store, u licensing.User, at time.Time) []byte {
	t.Helper()
	cs, _ := licensing.NewConsoleSession(u.AccountID, u.ID, at)
	wantErr(t, "CreateConsoleSession", s.CreateConsoleSession(context.Background(), cs), nil)
	return cs.Hash
}

// live reports whether the console session with the hash is live at at,
// and uses it then: ConsoleSession and TouchConsoleSession must agree.
func live(t *testing.T, s licensing.Store, hash []byte, at time.Time) bool {
	t.Helper()
	read, rerr := s.ConsoleSession(context.Background(), hash, at, at.Add(-licensing.ConsoleIdle))
	if rerr != nil && !errorsIsNotFound(rerr) {
		t.Fatalf("ConsoleSession: %v", rerr)
	}
	touched, err := s.TouchConsoleSession(context.Background(), hash, at, at.Add(-licensing.ConsoleIdle))
	if err != nil && !errorsIsNotFound(err) {
		t.Fatalf("TouchConsoleSession: %v", err)
	}
	if (rerr == nil) != (err == nil) || read.UserID != touched.UserID || !slices.Equal(read.Privileges, touched.Privileges) {
		t.Fatalf("at %v ConsoleSession read %+v (%v) but TouchConsoleSession %+v (%v)", at, read, rerr, touched, err)
	}
	return err == nil
}

// testConsolePrivileges checks the console privileges of users: set,
// read back, audited only when they change, per account, and that taking
// one away ends the user's console sessions while adding one does not.
func testConsolePrivileges(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, other := newAccount(t, s), newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	if ps, err := s.ConsolePrivileges(ctx, a.ID, ann.ID); err != nil || len(ps) != 0 {
		t.Fatalf("privileges of a new user: %v, %v", ps, err)
	}
	all := licensing.AllPrivileges
	old, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, all, entry("user.privileges", ann.ID))
	if err != nil || len(old) != 0 {
		t.Fatalf("SetConsolePrivileges: old %v, %v", old, err)
	}
	if ps, _ := s.ConsolePrivileges(ctx, a.ID, ann.ID); !slices.Equal(ps, licensing.NormalizePrivileges(all)) {
		t.Fatalf("privileges read back: %v", ps)
	}
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, all, entry("user.privileges", ann.ID)); err != nil {
		t.Fatal(err)
	}
	if got := actions(t, s, a.ID); len(got) != 1 {
		t.Fatalf("audit after a change and a repeat: %v, want one entry", got)
	}
	_, err = s.SetConsolePrivileges(ctx, other.ID, ann.ID, all)
	wantErr(t, "SetConsolePrivileges of another account's user", err, licensing.ErrNotFound)
	if ps, _ := s.ConsolePrivileges(ctx, other.ID, ann.ID); len(ps) != 0 {
		t.Fatalf("another account sees the privileges: %v", ps)
	}

	t0 := now()
	h := consoleSession(t, s, ann, t0)
	cs, err := s.TouchConsoleSession(ctx, h, t0.Add(time.Second), t0.Add(-time.Minute))
	if err != nil || cs.UserID != ann.ID || cs.AccountID != a.ID || cs.UserName != ann.UserName || len(cs.Privileges) != len(all) {
		t.Fatalf("TouchConsoleSession: %+v, %v", cs, err)
	}
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, append(slices.Clone(all), licensing.PrivRead)); err != nil {
		t.Fatal(err)
	}
	if !live(t, s, h, t0.Add(2*time.Second)) {
		t.Fatalf("a repeated grant ended the session")
	}
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, []licensing.Privilege{licensing.PrivRead}); err != nil {
		t.Fatal(err)
	}
	if live(t, s, h, t0.Add(3*time.Second)) {
		t.Fatalf("taking privileges away left the session live")
	}
	h = consoleSession(t, s, ann, t0)
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, []licensing.Privilege{licensing.PrivRead, licensing.PrivUsers}); err != nil {
		t.Fatal(err)
	}
	if !live(t, s, h, t0.Add(4*time.Second)) {
		t.Fatalf("adding a privilege ended the session")
	}
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, nil); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.ConsolePrivileges(ctx, a.ID, ann.ID); len(ps) != 0 {
		t.Fatalf("privileges after revoking all: %v", ps)
	}
	if live(t, s, h, t0.Add(5*time.Second)) {
		t.Fatalf("a user without privileges still has a session")
	}
}

// testConsoleSessions checks the lifetimes of console sessions (idle
// and absolute), sign-out, and that the user writes that end credentials
// (deactivation, a password change, deletion) end them in the same
// transaction.
func testConsoleSessions(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	bob := createUser(t, s, newUser(a.ID, "bob@example.com"))
	for _, u := range []licensing.User{ann, bob} {
		if _, err := s.SetConsolePrivileges(ctx, a.ID, u.ID, []licensing.Privilege{licensing.PrivRead}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := now()
	h := consoleSession(t, s, ann, t0)
	if _, err := s.TouchConsoleSession(ctx, []byte("no such session"), t0, t0.Add(-time.Hour)); !errorsIsNotFound(err) {
		t.Fatalf("unknown session: %v", err)
	}
	// Used every 20 minutes it lives past the idle time, up to its end.
	at := t0
	for at.Add(20 * time.Minute).Before(t0.Add(licensing.ConsoleAbsolute)) {
		at = at.Add(20 * time.Minute)
		if !live(t, s, h, at) {
			t.Fatalf("a session used every 20 minutes ended after %v", at.Sub(t0))
		}
	}
	if live(t, s, h, t0.Add(licensing.ConsoleAbsolute)) {
		t.Fatalf("a session outlived its absolute end")
	}
	h = consoleSession(t, s, ann, t0)
	// Reading a session is not using it.
	for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(licensing.ConsoleIdle - time.Second)} {
		cs, err := s.ConsoleSession(ctx, h, at, at.Add(-licensing.ConsoleIdle))
		if err != nil || cs.UserID != ann.ID || cs.AccountID != a.ID || cs.UserName != ann.UserName || !cs.LastSeen.Equal(t0) ||
			!slices.Equal(cs.Privileges, []licensing.Privilege{licensing.PrivRead}) {
			t.Fatalf("ConsoleSession at %v: %+v, %v", at.Sub(t0), cs, err)
		}
	}
	if live(t, s, h, t0.Add(licensing.ConsoleIdle)) {
		t.Fatalf("a session idle for %v is still live", licensing.ConsoleIdle)
	}
	h = consoleSession(t, s, ann, t0)
	wantErr(t, "EndConsoleSession", s.EndConsoleSession(ctx, h), nil)
	wantErr(t, "EndConsoleSession again", s.EndConsoleSession(ctx, h), nil)
	if live(t, s, h, t0.Add(time.Second)) {
		t.Fatalf("a session signed out is still live")
	}

	// Deactivation and a password change end the user's sessions, and
	// only theirs.
	replace := func(u *licensing.User, change func(*licensing.User)) { t.Helper(); replaceUser(t, s, u, change) }
	annH, bobH := consoleSession(t, s, ann, t0), consoleSession(t, s, bob, t0)
	replace(&ann, func(u *licensing.User) { u.DisplayName = "Ann" })
	if !live(t, s, annH, t0.Add(time.Second)) {
		t.Fatalf("a change of display name ended the session")
	}
	replace(&ann, func(u *licensing.User) { u.Active = false })
	if live(t, s, annH, t0.Add(2*time.Second)) {
		t.Fatalf("deactivating the user left their console session live")
	}
	if !live(t, s, bobH, t0.Add(2*time.Second)) {
		t.Fatalf("deactivating one user ended another's session")
	}
	replace(&ann, func(u *licensing.User) { u.Active = true })
	if live(t, s, annH, t0.Add(2*time.Second)) {
		t.Fatalf("a session of a deactivated user came back with the reactivation")
	}
	annH = consoleSession(t, s, ann, t0)
	replace(&ann, func(u *licensing.User) { u.PasswordHash = "hash-2" })
	if live(t, s, annH, t0.Add(3*time.Second)) {
		t.Fatalf("a password change left the console session live")
	}
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, a.ID, bob.ID, now()), nil)
	if live(t, s, bobH, t0.Add(4*time.Second)) {
		t.Fatalf("a deleted user's console session is live")
	}
	if _, err := s.ConsolePrivileges(ctx, a.ID, bob.ID); err != nil {
		t.Fatalf("privileges of a deleted user: %v", err)
	}
	cs, _ := licensing.NewConsoleSession(a.ID, bob.ID, t0)
	wantErr(t, "CreateConsoleSession of a deleted user", s.CreateConsoleSession(ctx, cs), licensing.ErrNotFound)
}

// testPasswordLinks checks that a password link sets the password once,
// within its life, revoking the user's tokens and console sessions.
func testPasswordLinks(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, []licensing.Privilege{licensing.PrivRead}); err != nil {
		t.Fatal(err)
	}
	t0 := now()
	l := licensing.PasswordLink{Hash: licensing.HashToken("link-" + newID()), AccountID: a.ID, UserID: ann.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	wantErr(t, "CreatePasswordLink", s.CreatePasswordLink(ctx, l, entry("user.password_link", ann.ID)), nil)
	bad := l
	bad.Hash, bad.UserID = licensing.HashToken("other-"+newID()), newID()
	wantErr(t, "CreatePasswordLink of no user", s.CreatePasswordLink(ctx, bad), licensing.ErrNotFound)
	if _, err := s.PasswordLink(ctx, l.Hash, t0.Add(time.Hour)); !errorsIsNotFound(err) {
		t.Fatalf("an expired link: %v", err)
	}
	if _, err := s.UsePasswordLink(ctx, l.Hash, "hash-x", t0.Add(time.Hour)); !errorsIsNotFound(err) {
		t.Fatalf("an expired link was used: %v", err)
	}
	got, err := s.PasswordLink(ctx, l.Hash, t0.Add(time.Minute))
	if err != nil || got.UserID != ann.ID || got.AccountID != a.ID {
		t.Fatalf("PasswordLink: %+v, %v", got, err)
	}
	h := consoleSession(t, s, ann, t0)
	tok, _, _ := licensing.NewToken(a.ID, "agent", licensing.ScopeAgent, t0)
	tok.UserID = ann.ID
	wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)

	errs := race(func(int) error {
		_, err := s.UsePasswordLink(ctx, l.Hash, "hash-new", t0.Add(time.Minute), entry("user.password", ann.ID))
		return err
	})
	wantOneWinner(t, "UsePasswordLink", errs, licensing.ErrNotFound)
	u, err := s.User(ctx, a.ID, ann.ID)
	if err != nil || u.PasswordHash != "hash-new" || u.Version != ann.Version+1 {
		t.Fatalf("user after the link: hash %q version %d, %v", u.PasswordHash, u.Version, err)
	}
	if live(t, s, h, t0.Add(time.Minute)) {
		t.Fatalf("choosing a password left an older console session live")
	}
	if got, _ := s.Token(ctx, tok.ID); got.RevokedAt == nil {
		t.Fatalf("choosing a password left the user's token active")
	}
	if _, err := s.PasswordLink(ctx, l.Hash, t0.Add(time.Minute)); !errorsIsNotFound(err) {
		t.Fatalf("a used link: %v", err)
	}
	if got := actions(t, s, a.ID); !slices.Contains(got, "user.password") || !slices.Contains(got, "user.password_link") {
		t.Fatalf("audit log %v lacks the link and its use", got)
	}
}

func errorsIsNotFound(err error) bool { return errors.Is(err, licensing.ErrNotFound) }

// testConsolePurge checks that the purge deletes the console sessions
// that ended (idle, or past their absolute end) and the password links
// used or expired, and keeps the live ones. Rows are dated far in the
// past, so that the cutoffs spare other tests' rows; a purge may also
// delete rows of earlier runs, hence "at least".
func testConsolePurge(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	ann := createUser(t, s, newUser(a.ID, "ann@example.com"))
	if _, err := s.SetConsolePrivileges(ctx, a.ID, ann.ID, []licensing.Privilege{licensing.PrivRead}); err != nil {
		t.Fatal(err)
	}
	t0 := now().Add(-400 * 24 * time.Hour)
	link := func(name string, expires time.Time) licensing.PasswordLink {
		t.Helper()
		l := licensing.PasswordLink{Hash: licensing.HashToken(name + newID()), AccountID: a.ID, UserID: ann.ID, CreatedAt: expires.Add(-time.Hour), ExpiresAt: expires}
		wantErr(t, "CreatePasswordLink", s.CreatePasswordLink(ctx, l), nil)
		return l
	}
	link("expired", t0.Add(-time.Second))
	used, unused := link("used", t0.Add(time.Hour)), link("unused", t0.Add(time.Hour))
	if _, err := s.UsePasswordLink(ctx, used.Hash, "hash", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}

	consoleSession(t, s, ann, t0.Add(-time.Hour)) // idle since
	ended, _ := licensing.NewConsoleSession(a.ID, ann.ID, t0.Add(-licensing.ConsoleAbsolute-time.Hour))
	ended.LastSeen = t0.Add(-time.Minute) // busy, but past its absolute end
	wantErr(t, "CreateConsoleSession", s.CreateConsoleSession(ctx, ended), nil)
	alive := consoleSession(t, s, ann, t0.Add(-time.Minute))

	for _, k := range []struct {
		kind   licensing.PurgeKind
		cutoff time.Time
	}{
		{licensing.PurgeConsoleSessions, t0.Add(-licensing.ConsoleIdle)},
		{licensing.PurgePasswordLinks, t0},
	} {
		if n, err := s.Purge(ctx, k.kind, k.cutoff, 1000); err != nil || n < 2 {
			t.Errorf("Purge %s: %d, %v; want at least 2", k.kind, n, err)
		}
	}
	if !live(t, s, alive, t0) {
		t.Errorf("the purge deleted a live console session")
	}
	if _, err := s.PasswordLink(ctx, unused.Hash, t0); err != nil {
		t.Errorf("the purge deleted an unused link: %v", err)
	}
}
