package conformance

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

func testTokenPrivileges(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a := newAccount(t, s)
	tok, _, err := licensing.NewToken(a.ID, "console", licensing.ScopeAdmin, now())
	wantErr(t, "NewToken", err, nil)
	tok.Privileges = []licensing.Privilege{licensing.PrivSessions, licensing.PrivRead, licensing.PrivSessions}
	wantErr(t, "CreateToken", s.CreateToken(ctx, tok), nil)
	got, err := s.Token(ctx, tok.ID)
	wantErr(t, "Token", err, nil)
	want := []licensing.Privilege{licensing.PrivRead, licensing.PrivSessions}
	if !slices.Equal(got.Privileges, want) {
		t.Errorf("Token privileges = %v, want %v (sorted, without repeats)", got.Privileges, want)
	}
	plain, _, err := licensing.NewToken(a.ID, "okta", licensing.ScopeSCIM, now())
	wantErr(t, "NewToken", err, nil)
	wantErr(t, "CreateToken", s.CreateToken(ctx, plain), nil)
	got, err = s.Token(ctx, plain.ID)
	wantErr(t, "Token", err, nil)
	if len(got.Privileges) != 0 {
		t.Errorf("SCIM token privileges = %v, want none", got.Privileges)
	}
}

func testAuditLog(t *testing.T, s licensing.Store) {
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	base := now()
	// Two entries share a time: the id breaks the tie.
	ats := []time.Duration{0, time.Second, time.Second, 2 * time.Second, 3 * time.Second}
	for i, d := range ats {
		action := "user.create"
		if i%2 == 1 {
			action = "session.end"
		}
		e := licensing.AuditEntry{AccountID: a.ID, At: base.Add(d), ActorID: "tok1", ActorName: "console",
			ActorScope: licensing.ScopeAdmin, Action: action, TargetType: "user", TargetID: fmt.Sprint("u", i), Detail: "d"}
		wantErr(t, "AppendAudit", s.AppendAudit(ctx, e), nil)
	}
	wantErr(t, "AppendAudit of another account", s.AppendAudit(ctx, licensing.AuditEntry{AccountID: b.ID, At: base,
		ActorID: "tok2", Action: "user.create", TargetType: "user", TargetID: "ub"}), nil)
	wantErr(t, "AppendAudit of no account", s.AppendAudit(ctx, licensing.AuditEntry{AccountID: newID(), At: base,
		Action: "user.create", TargetType: "user", TargetID: "x"}), licensing.ErrNotFound)

	// Walk all of a's entries two at a time: newest first, each once.
	var seen []string
	after := ""
	for range 10 {
		page, err := s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 2, After: after})
		wantErr(t, "AuditLog", err, nil)
		for _, e := range page.Items {
			if e.AccountID != a.ID || e.ActorScope != licensing.ScopeAdmin || e.ActorName != "console" {
				t.Errorf("AuditLog entry %+v: wrong account or actor", e)
			}
			seen = append(seen, e.TargetID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if want := []string{"u4", "u3", "u2", "u1", "u0"}; !slices.Equal(seen, want) {
		t.Errorf("AuditLog walk = %v, want %v", seen, want)
	}

	page, err := s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10, Action: "session.end"})
	wantErr(t, "AuditLog by action", err, nil)
	if got := targets(page.Items); !slices.Equal(got, []string{"u3", "u1"}) {
		t.Errorf("AuditLog action=session.end = %v, want [u3 u1]", got)
	}
	page, err = s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10, From: base.Add(time.Second), To: base.Add(3 * time.Second)})
	wantErr(t, "AuditLog by time", err, nil)
	if got := targets(page.Items); !slices.Equal(got, []string{"u3", "u2", "u1"}) {
		t.Errorf("AuditLog [1s,3s) = %v, want [u3 u2 u1]", got)
	}
	page, err = s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10, TargetID: "u0", ActorID: "tok1", TargetType: "user"})
	wantErr(t, "AuditLog by target", err, nil)
	if got := targets(page.Items); !slices.Equal(got, []string{"u0"}) {
		t.Errorf("AuditLog target=u0 = %v, want [u0]", got)
	}
	page, err = s.AuditLog(ctx, b.ID, licensing.AuditQuery{Limit: 10})
	wantErr(t, "AuditLog of b", err, nil)
	if got := targets(page.Items); !slices.Equal(got, []string{"ub"}) {
		t.Errorf("AuditLog of the other account = %v, want only its own entry", got)
	}
	_, err = s.AuditLog(ctx, a.ID, licensing.AuditQuery{Limit: 10, After: "not a cursor"})
	wantErr(t, "AuditLog with a bad cursor", err, licensing.ErrInvalid)
}

func targets(es []licensing.AuditEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.TargetID)
	}
	return out
}
