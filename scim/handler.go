package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// kind tells the generic resource handler how to store one resource type.
type kind[T any] struct {
	rt schemas.Resource
	// noun names the resource type in the audit log: the target type and
	// the first part of the action ("user" makes "user.create").
	noun string
	// name is what the audit log's detail calls a value (a user's
	// userName, a group's displayName).
	name func(v T) string
	get  func(ctx context.Context, accountID, id string) (T, error)
	// create, replace and delete write, with the audit entry that
	// records the write, in the write's transaction (see licensing.Store).
	create  func(ctx context.Context, v T, audit ...licensing.AuditEntry) error
	replace func(ctx context.Context, v T, expect int64, audit ...licensing.AuditEntry) error
	delete  func(ctx context.Context, accountID, id string, at time.Time, audit ...licensing.AuditEntry) error
	// fromAttributes builds a new value from validated attributes.
	fromAttributes func(attrs scim.ResourceAttributes) (T, error)
	// toResource renders a stored value; base is the SCIM base URL.
	toResource func(v T, base string) (scim.Resource, error)
	// stamp sets the identity and bookkeeping fields of next.
	stamp func(next *T, accountID, id string, created, modified time.Time, version int64)
	// complete fills in next what the store derives on write from what
	// cur already has (nil: nothing), so an unchanged PUT compares equal.
	complete func(next *T, cur T)
	// secrets, when set, gives next what the request carries but no
	// representation shows (a user's password, as its hash) from the
	// validated attributes; cur is the stored value (nil on create). It
	// reports whether that changes the stored value, which a write must
	// then store even when the representation stays the same.
	secrets func(ctx context.Context, next *T, attrs scim.ResourceAttributes, cur *T) (bool, error)
	// resolve, when set, gives next what several attributes of the
	// validated attributes decide together (a user's assignments: see
	// resolveAssignments), against the stored value cur (nil on create);
	// whole is set for a POST or PUT body, unset for a patched
	// representation.
	resolve func(next *T, attrs scim.ResourceAttributes, cur *T, whole bool) error
	// reload says the store completes a value on write (group members'
	// types and display names), so a written value is read back to answer.
	reload  bool
	id      func(v T) string
	version func(v T) int64
	created func(v T) time.Time
}

// resourceHandler implements elimity's scim.ResourceHandler for one
// resource type over the store. List operations are served by Server's
// own list handler (see list.go); GetAll delegates to it as well.
type resourceHandler[T any] struct {
	srv *Server
	k   kind[T]
}

func (h resourceHandler[T]) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ctx := r.Context()
	p := principal(ctx)
	if err := h.checkValues(attrs, true); err != nil {
		return scim.Resource{}, h.scimError(ctx, err)
	}
	v, err := h.k.fromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, h.scimError(ctx, err)
	}
	if h.k.resolve != nil {
		if err := h.k.resolve(&v, attrs, nil, true); err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
	}
	now := h.srv.clock.Now()
	h.k.stamp(&v, p.AccountID, licensing.NewID(), now, now, 1)
	if h.k.secrets != nil {
		if _, err := h.k.secrets(ctx, &v, attrs, nil); err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
	}
	if err := h.k.create(ctx, v, h.audit(ctx, now, "create", h.k.id(v), h.k.name(v))); err != nil {
		return scim.Resource{}, h.scimError(ctx, err)
	}
	return h.renderWritten(r, p.AccountID, v)
}

func (h resourceHandler[T]) Get(r *http.Request, id string) (scim.Resource, error) {
	ctx := r.Context()
	v, err := h.k.get(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return scim.Resource{}, h.scimError(ctx, err)
	}
	// If-None-Match is answered by Server.serveElimity: elimity turns any
	// error status it does not expect from a GET (304 included) into a 500.
	return h.render(r, v)
}

// GetAll lists resources. scim.Server answers list requests itself (to
// offer cursor paging and attribute projection), so elimity calls this only
// if that routing changes; it answers the same page.
func (h resourceHandler[T]) GetAll(r *http.Request, _ scim.ListRequestParams) (scim.Page, error) {
	ctx := r.Context()
	req, err := h.srv.parseListQuery(r.URL.Query())
	if err != nil {
		return scim.Page{}, h.scimError(ctx, err)
	}
	p, err := h.srv.list(ctx, h.k.rt, req, h.srv.base(r))
	if err != nil {
		return scim.Page{}, h.scimError(ctx, err)
	}
	return scim.Page{TotalResults: p.total, Resources: append([]scim.Resource{}, p.resources...)}, nil
}

func (h resourceHandler[T]) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	if err := h.checkValues(attrs, true); err != nil {
		return scim.Resource{}, h.scimError(r.Context(), err)
	}
	next, err := h.k.fromAttributes(attrs)
	if err != nil {
		return scim.Resource{}, h.scimError(r.Context(), err)
	}
	return h.update(r, id, "replace", func(T, scim.Resource) (T, scim.ResourceAttributes, bool, error) { return next, attrs, true, nil })
}

func (h resourceHandler[T]) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	return h.update(r, id, "patch", func(_ T, cur scim.Resource) (T, scim.ResourceAttributes, bool, error) {
		var zero T
		m := patchable(h.k.rt, cur)
		changed, err := applyPatch(m, ops, h.k.rt)
		if err != nil || !changed {
			return zero, nil, false, err
		}
		attrs, err := validateResource(h.k.rt, withSchemas(h.k.rt, m))
		if err != nil {
			return zero, nil, false, err
		}
		if err := h.checkValues(attrs, false); err != nil {
			return zero, nil, false, err
		}
		next, err := h.k.fromAttributes(attrs)
		return next, attrs, true, err
	})
}

// checkValues applies the rules for multi-valued attributes to the
// validated attributes of a write, before they are stored: exact
// duplicates go, at most MaxMultiValues values remain in each, and (for
// a POST or PUT, primaries set) at most one is primary. A PATCH has its
// primaries settled by the patcher, which clears the others' mark.
func (h resourceHandler[T]) checkValues(attrs scim.ResourceAttributes, primaries bool) error {
	dropDuplicateValues(h.k.rt, attrs)
	if err := checkMultiValues(h.k.rt, attrs, h.srv.opts.MaxMultiValues); err != nil {
		return err
	}
	if primaries {
		return checkPrimaries(h.k.rt, attrs)
	}
	return nil
}

// update reads the resource, checks If-Match, derives the next value (and
// the validated attributes it came from) with change, and stores it if it
// differs, retrying when another write won a race and the client did not
// pin a version with If-Match. A change that yields the same
// representation, and no new secret, stores nothing, keeps lastModified
// and records nothing in the audit log; a stored one is recorded as the
// action verb ("replace" or "patch") with the attributes it changed.
func (h resourceHandler[T]) update(r *http.Request, id, verb string, change func(cur T, res scim.Resource) (T, scim.ResourceAttributes, bool, error)) (scim.Resource, error) {
	ctx := r.Context()
	accountID := principal(ctx).AccountID
	ifMatch := r.Header.Get("If-Match")
	for attempt := 1; ; attempt++ {
		cur, err := h.k.get(ctx, accountID, id)
		if err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
		curRes, err := h.k.toResource(cur, h.srv.base(r))
		if err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
		if ifMatch != "" && !etagMatches(ifMatch, curRes.Meta.Version) {
			return scim.Resource{}, h.scimError(ctx, errPreconditionFailed)
		}
		next, attrs, proceed, err := change(cur, curRes)
		if err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
		if !proceed {
			return h.render(r, cur)
		}
		if h.k.resolve != nil {
			if err := h.k.resolve(&next, attrs, &cur, verb == "replace"); err != nil {
				return scim.Resource{}, h.scimError(ctx, err)
			}
		}
		v := h.k.version(cur)
		now := h.srv.clock.Now()
		h.k.stamp(&next, accountID, id, h.k.created(cur), now, v+1)
		if h.k.complete != nil {
			h.k.complete(&next, cur)
		}
		newSecret := false
		if h.k.secrets != nil {
			if newSecret, err = h.k.secrets(ctx, &next, attrs, &cur); err != nil {
				return scim.Resource{}, h.scimError(ctx, err)
			}
		}
		changed, err := h.changedAttributes(r, cur, next)
		if err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
		if newSecret {
			changed = append(changed, "password")
		}
		if len(changed) == 0 {
			return h.render(r, cur)
		}
		err = h.k.replace(ctx, next, v, h.audit(ctx, now, verb, id, h.k.name(next)+": "+listAttributes(changed)))
		if ifMatch == "" {
			// The client pinned no version: a lost race is applied again
			// over the winner, and one that keeps losing answers 503 with
			// Retry-After, since a 412 would blame an If-Match it never sent.
			var again bool
			if again, err = licensing.RetryLostRace(ctx, attempt, err); again {
				continue
			}
		}
		if err != nil {
			return scim.Resource{}, h.scimError(ctx, err)
		}
		return h.renderWritten(r, accountID, next)
	}
}

// changedAttributes names, sorted, the attributes whose SCIM
// representation differs between a and b (meta aside): top-level
// attributes, and an extension's sub-attributes by their own name. None
// when a and b render the same.
func (h resourceHandler[T]) changedAttributes(r *http.Request, a, b T) ([]string, error) {
	ra, err := h.k.toResource(a, h.srv.base(r))
	if err != nil {
		return nil, err
	}
	rb, err := h.k.toResource(b, h.srv.base(r))
	if err != nil {
		return nil, err
	}
	return diffAttributes(representationWithoutMeta(ra), representationWithoutMeta(rb), true)
}

func representationWithoutMeta(r scim.Resource) map[string]any {
	m := make(map[string]any, len(r.Attributes)+1)
	maps.Copy(m, r.Attributes)
	if r.ExternalID.Present() {
		m["externalId"] = r.ExternalID.Value()
	}
	return m
}

// diffAttributes names the keys whose values differ between a and b (a
// key present on one side only differs), compared as JSON. With
// extensions, a key naming a schema URN whose value is an object on
// either side is compared by its own keys instead.
func diffAttributes(a, b map[string]any, extensions bool) ([]string, error) {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var changed []string
	for _, k := range keys {
		va, inA := a[k]
		vb, inB := b[k]
		oa, isA := va.(map[string]any)
		ob, isB := vb.(map[string]any)
		if extensions && strings.Contains(k, ":") && (isA || isB) && (isA || !inA) && (isB || !inB) {
			sub, err := diffAttributes(oa, ob, false)
			if err != nil {
				return nil, err
			}
			changed = append(changed, sub...)
			continue
		}
		if inA != inB {
			changed = append(changed, k)
			continue
		}
		ja, err := json.Marshal(va)
		if err != nil {
			return nil, err
		}
		jb, err := json.Marshal(vb)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(ja, jb) {
			changed = append(changed, k)
		}
	}
	return changed, nil
}

// maxAuditAttributes bounds the attribute names an audit detail lists.
const maxAuditAttributes = 8

// listAttributes is the short form of changed attribute names for an
// audit detail.
func listAttributes(names []string) string {
	if len(names) <= maxAuditAttributes {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxAuditAttributes], ", ") + fmt.Sprintf(" and %d more", len(names)-maxAuditAttributes)
}

func (h resourceHandler[T]) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	accountID := principal(ctx).AccountID
	// Read first: If-Match compares the version, and the audit log names
	// what was deleted.
	cur, err := h.k.get(ctx, accountID, id)
	if err != nil {
		return h.scimError(ctx, err)
	}
	if ifMatch := r.Header.Get("If-Match"); ifMatch != "" {
		res, err := h.k.toResource(cur, h.srv.base(r))
		if err != nil {
			return h.scimError(ctx, err)
		}
		if !etagMatches(ifMatch, res.Meta.Version) {
			return h.scimError(ctx, errPreconditionFailed)
		}
	}
	now := h.srv.clock.Now()
	if err := h.k.delete(ctx, accountID, id, now, h.audit(ctx, now, "delete", id, h.k.name(cur))); err != nil {
		return h.scimError(ctx, err)
	}
	return nil
}

// audit is the audit entry of the write noun.verb on the value with the
// id that the caller is about to make at now: the store records it in the
// write's own transaction.
func (h resourceHandler[T]) audit(ctx context.Context, now time.Time, verb, id, detail string) licensing.AuditEntry {
	return licensing.NewAuditEntry(ctx, now, h.k.noun+"."+verb, h.k.noun, id, detail)
}

// renderWritten answers a value just written, read back first if the
// store completes it.
func (h resourceHandler[T]) renderWritten(r *http.Request, accountID string, v T) (scim.Resource, error) {
	if h.k.reload {
		stored, err := h.k.get(r.Context(), accountID, h.k.id(v))
		if err != nil {
			return scim.Resource{}, h.scimError(r.Context(), err)
		}
		v = stored
	}
	return h.render(r, v)
}

func (h resourceHandler[T]) render(r *http.Request, v T) (scim.Resource, error) {
	res, err := h.k.toResource(v, h.srv.base(r))
	if err != nil {
		return scim.Resource{}, h.scimError(r.Context(), err)
	}
	return res, nil
}

// scimError turns err into the SCIM error for this resource type (see
// toSCIMError).
func (h resourceHandler[T]) scimError(ctx context.Context, err error) scimerrors.ScimError {
	return toSCIMError(ctx, h.srv.users.Catalog, h.k.rt.Name, err)
}

// principal returns the caller; the server's auth middleware guarantees
// one on every SCIM request (Server.ServeHTTP refuses requests without).
func principal(ctx context.Context) licensing.Principal {
	p, _ := licensing.PrincipalFrom(ctx)
	return p
}
