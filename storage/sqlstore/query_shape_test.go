package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/licensing"
)

// shapeAccount makes an account with users u0..u(n-1), each with the
// e-mail address ui@example.com and the title "ti".
func shapeAccount(t *testing.T, s *Store, n int) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	acc := licensing.Account{ID: "shape-" + randomHex(8), Name: "shape-" + randomHex(8), CreatedAt: now}
	if err := s.CreateAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Exec(`DELETE FROM accounts WHERE id = ?`, acc.ID) })
	for i := range n {
		u := licensing.User{AccountID: acc.ID, ID: fmt.Sprintf("%s-u%d", acc.ID, i), UserName: fmt.Sprintf("u%d", i), Active: true,
			Doc:     []byte(fmt.Sprintf(`{"title":"t%d","emails":[{"value":"u%d@example.com","type":"work"}]}`, i, i)),
			Created: now.Add(time.Duration(i) * time.Second), LastModified: now, Version: 1}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	return acc.ID
}

// userNames lists the userNames of the users the condition selects, in
// creation order, with and without sorting and cursor paging.
func userNames(t *testing.T, s *Store, accountID string, c licensing.Cond) ([]string, error) {
	t.Helper()
	ctx := context.Background()
	page, err := s.Users(ctx, accountID, licensing.Query{Filter: c, Limit: 1000})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, u := range page.Items {
		names = append(names, u.UserName)
	}
	sorted, err := s.Users(ctx, accountID, licensing.Query{Filter: c, Limit: 1, SortBy: &licensing.Attr{Path: []string{"title"}}, Descending: true})
	if err != nil {
		return nil, fmt.Errorf("sorted: %w", err)
	}
	if sorted.Next != "" {
		if _, err := s.Users(ctx, accountID, licensing.Query{Filter: c, Limit: 1, SortBy: &licensing.Attr{Path: []string{"title"}}, Descending: true, After: sorted.Next}); err != nil {
			return nil, fmt.Errorf("next page: %w", err)
		}
	}
	return names, nil
}

func title(v string) licensing.Compare {
	return licensing.Compare{Attr: licensing.Attr{Path: []string{"title"}}, Op: licensing.OpEq, Value: v}
}

func email(v string) licensing.Any {
	return licensing.Any{Attr: licensing.Attr{Path: []string{"emails"}},
		Cond: licensing.Not{Cond: licensing.Not{Cond: licensing.Compare{Attr: licensing.Attr{Path: []string{"value"}}, Op: licensing.OpEq, Value: v}}}}
}

// TestLongChainsAreFlat: an Or of 1000 comparisons, of columns, of the
// document and of its arrays, runs on both dialects (SQLite refuses an
// expression tree deeper than 1000, which a flat chain of 1000 terms
// would be), and so does its negation.
func TestLongChainsAreFlat(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		acc := shapeAccount(t, s, 3)
		var or licensing.Or
		for i := range 1000 {
			switch i % 3 {
			case 0:
				or = append(or, licensing.Compare{Attr: licensing.Attr{Path: []string{"userName"}}, Op: licensing.OpEq, Value: fmt.Sprintf("u%d", i)})
			case 1:
				or = append(or, title(fmt.Sprintf("t%d", i)))
			default:
				or = append(or, email(fmt.Sprintf("u%d@example.com", i)))
			}
		}
		got, err := userNames(t, s, acc, or)
		if err != nil || !slices.Equal(got, []string{"u0", "u1", "u2"}) {
			t.Errorf("or of 1000: %v, %v", got, err)
		}
		got, err = userNames(t, s, acc, licensing.Not{Cond: or})
		if err != nil || len(got) != 0 {
			t.Errorf("not (or of 1000): %v, %v", got, err)
		}
		and := licensing.And{}
		for i := range 1000 {
			and = append(and, licensing.Not{Cond: title(fmt.Sprintf("x%d", i))})
		}
		got, err = userNames(t, s, acc, and)
		if err != nil || len(got) != 3 {
			t.Errorf("and of 1000: %v, %v", got, err)
		}
	})
}

// TestDeepestConditionRuns: the deepest condition the translator admits
// (maxDepth levels of alternating And and Or of 40 terms, with negations
// and an Any at the bottom) runs on both dialects and means what it says;
// so do maxNots nested Nots; one level more of either is refused with
// ErrInvalid, not a database error.
func TestDeepestConditionRuns(t *testing.T) {
	// nest builds levels of groups around a leaf; each group has its
	// nested part first, then 39 comparisons that select nobody. Nots
	// around each group cost no level.
	nest := func(levels int, leaf licensing.Cond) licensing.Cond {
		c := leaf
		for l := range levels - 1 {
			terms := []licensing.Cond{licensing.Not{Cond: licensing.Not{Cond: c}}}
			for i := range 39 {
				if l%2 == 0 {
					terms = append(terms, title(fmt.Sprintf("none%d", i)))
				} else {
					terms = append(terms, licensing.Not{Cond: title(fmt.Sprintf("t%d", i%2))})
				}
			}
			if l%2 == 0 {
				c = licensing.Or(terms)
			} else {
				c = licensing.And(terms)
			}
		}
		return c
	}
	dialects(t, func(t *testing.T, s *Store) {
		acc := shapeAccount(t, s, 3)
		// The Any is one level; the groups around it the others.
		deepest := nest(maxDepth, email("u2@example.com"))
		got, err := userNames(t, s, acc, deepest)
		if err != nil || !slices.Equal(got, []string{"u2"}) {
			t.Errorf("%d levels: %v, %v", maxDepth, got, err)
		}
		var nots licensing.Cond = title("t1")
		for range maxNots {
			nots = licensing.Not{Cond: nots}
		}
		if got, err := userNames(t, s, acc, nots); err != nil || !slices.Equal(got, []string{"u1"}) {
			t.Errorf("%d nots: %v, %v", maxNots, got, err)
		}
		for name, c := range map[string]licensing.Cond{
			"groups": nest(maxDepth+1, email("u2@example.com")),
			"nots":   licensing.Not{Cond: nots},
		} {
			if _, err := userNames(t, s, acc, c); !errors.Is(err, licensing.ErrInvalid) {
				t.Errorf("one level more of %s: %v, want ErrInvalid", name, err)
			}
		}
	})
}
