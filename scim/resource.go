package scim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"

	"github.com/scimd/scimd/licensing"
	"github.com/scimd/scimd/schemas"
)

// Attributes kept in columns rather than in the JSON document, and
// attributes never stored at all. A user's licensing extension is kept as
// User.Assignments (and its read-only licenses are User.Licenses), a
// group's as Group.Assignments.
var (
	userColumns  = []string{"userName", "externalId", "displayName", "active", schemas.LicensingURN}
	groupColumns = []string{"displayName", "externalId", "members", schemas.GroupLicensingURN}
	notStored    = []string{"id", "meta", "schemas", "password", "groups"}
)

// etag renders a weak entity tag from the stored version and, for users,
// their group memberships and licenses in force, which change the
// representation without changing the user's version: W/"3", or W/"3-1f2e3d4c" for a user in
// groups.
func etag(version int64, groups []licensing.GroupRef, licenses []licensing.License) string {
	tag := strconv.FormatInt(version, 10)
	inherited := slices.ContainsFunc(licenses, func(l licensing.License) bool {
		return !slices.Equal(l.Sources, []string{licensing.SourceDirect})
	})
	if len(groups) > 0 || inherited {
		h := fnv32a(offset32)
		for _, g := range groups {
			h = h.add(g.ID).add("\x00").add(g.Display).add("\x00")
		}
		for _, l := range licenses {
			if slices.Equal(l.Sources, []string{licensing.SourceDirect}) {
				continue // follows from the user's own assignments: the version tells
			}
			h = h.add("\x01").add(l.ProductID).add("\x00").add(string(l.License)).add("\x00").add(string(l.Status)).add("\x00")
			for i, src := range l.Sources {
				if i > 0 {
					h = h.add("\x00")
				}
				h = h.add(src)
			}
		}
		tag += "-" + strconv.FormatUint(uint64(h), 16)
	}
	return `W/"` + tag + `"`
}

// fnv32a is the 32-bit FNV-1a hash (hash/fnv's New32a) of strings added
// one after the other, without the conversions to []byte that hash.Hash
// wants: a user in many groups hashes many of them on every read.
type fnv32a uint32

const offset32 fnv32a = 2166136261

func (h fnv32a) add(s string) fnv32a {
	for i := 0; i < len(s); i++ {
		h ^= fnv32a(s[i])
		h *= 16777619
	}
	return h
}

// etagMatches reports whether an If-Match / If-None-Match header value
// names the current entity tag: "*" or a list of tags, weak or strong.
func etagMatches(header, current string) bool {
	want := strings.Trim(strings.TrimPrefix(current, "W/"), `"`)
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		if strings.Trim(strings.TrimPrefix(tag, "W/"), `"`) == want {
			return true
		}
	}
	return false
}

// validateResource checks a full resource representation against the
// resource type, as elimity does for POST and PUT bodies, and returns the
// validated attributes with canonical names.
func validateResource(rt schemas.Resource, m map[string]any) (scim.ResourceAttributes, error) {
	core := rt.Core
	core.Attributes = append(append([]schema.CoreAttribute{}, core.Attributes...), externalIDAttribute())
	attrs, serr := core.Validate(m)
	if serr != nil {
		return nil, *serr
	}
	for _, ext := range rt.Extensions {
		v, ok := m[ext.ID]
		if !ok || v == nil {
			continue
		}
		ea, serr := ext.ValidateExtension(v)
		if serr != nil {
			return nil, *serr
		}
		attrs[ext.ID] = ea
	}
	return attrs, nil
}

func externalIDAttribute() schema.CoreAttribute {
	return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
		CaseExact:  true,
		Mutability: schema.AttributeMutabilityReadWrite(),
		Name:       schema.CommonAttributeExternalID,
		Uniqueness: schema.AttributeUniquenessNone(),
	}))
}

// document returns the attributes to keep in the JSON document: all but
// the column-backed and never-stored ones, without unassigned values
// (null, "", [] or {}: RFC 7643 section 2.5), so that a client sending
// "roles": [] never reads back "roles": null.
func document(attrs scim.ResourceAttributes, columns []string) (json.RawMessage, error) {
	doc := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if contains(columns, k) || contains(notStored, k) || isEmptyValue(v) {
			continue
		}
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, errInvalidValue("the resource cannot be stored: %v", err)
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func stringAttr(attrs scim.ResourceAttributes, name string) string {
	s, _ := attrs[name].(string)
	return s
}

// userFromAttributes builds the stored user from validated attributes of
// the resource type rt: its licensing extension becomes Assignments. The
// password is left to the kind's secrets.
func userFromAttributes(rt schemas.Resource, attrs scim.ResourceAttributes) (licensing.User, error) {
	u := licensing.User{
		UserName:    stringAttr(attrs, "userName"),
		ExternalID:  stringAttr(attrs, "externalId"),
		DisplayName: stringAttr(attrs, "displayName"),
		Active:      true,
	}
	if strings.TrimSpace(u.UserName) == "" {
		return u, errInvalidValue("userName must not be empty")
	}
	if a, ok := attrs["active"].(bool); ok {
		u.Active = a
	}
	assignments, err := assignmentsFrom(rt, attrs)
	if err != nil {
		return u, err
	}
	u.Assignments = assignments
	doc, err := document(withoutCatalogEntitlements(rt.Catalog, attrs), userColumns)
	if err != nil {
		return u, err
	}
	u.Doc = doc
	return u, nil
}

// userAttributes is the user's SCIM representation without id, schemas
// and meta (which elimity adds), with the licensing extension of every
// product of the catalog c and the direct assignments among the
// entitlements. base is the SCIM base URL for the groups'
// $ref.
func userAttributes(c licensing.Catalog, u licensing.User, base string) (scim.ResourceAttributes, error) {
	attrs := scim.ResourceAttributes{}
	if len(u.Doc) > 0 {
		if err := json.Unmarshal(u.Doc, &attrs); err != nil {
			return nil, fmt.Errorf("decode user %s document: %w", u.ID, err)
		}
	}
	attrs["userName"] = u.UserName
	attrs["active"] = u.Active
	if u.DisplayName != "" {
		attrs["displayName"] = u.DisplayName
	}
	if len(u.Groups) > 0 {
		attrs["groups"] = userGroups(u.Groups, base)
	}
	if len(c.Products) > 0 {
		ext := licensingAttributes(c, u.Assignments)
		if len(u.Licenses) > 0 {
			ext[licensing.LicensesAttr] = licensesValue(u.Licenses)
		}
		attrs[schemas.LicensingURN] = ext
	}
	// A document written before entitlements were assignments may hold a
	// catalog entitlement as a plain value: the assignments decide.
	if ents := userEntitlements(c, u.Assignments, withoutCatalogEntitlements(c, attrs)["entitlements"]); len(ents) > 0 {
		attrs["entitlements"] = ents
	} else {
		delete(attrs, "entitlements")
	}
	return attrs, nil
}

// userGroups renders a user's groups (RFC 7643 section 4.1.2): the direct
// memberships the store read, in its order (by group id).
func userGroups(refs []licensing.GroupRef, base string) []any {
	groups := make([]any, 0, len(refs))
	for _, g := range refs {
		group := map[string]any{"value": g.ID, "$ref": base + "/Groups/" + g.ID, "type": "direct"}
		if g.Display != "" {
			group["display"] = g.Display
		}
		groups = append(groups, group)
	}
	return groups
}

func userResource(c licensing.Catalog, u licensing.User, base string) (scim.Resource, error) {
	attrs, err := userAttributes(c, u, base)
	if err != nil {
		return scim.Resource{}, err
	}
	return resource(u.ID, u.ExternalID, attrs, u.Created, u.LastModified, etag(u.Version, u.Groups, u.Licenses)), nil
}

// groupFromAttributes builds the stored group of the resource type rt
// from validated attributes.
func groupFromAttributes(rt schemas.Resource, attrs scim.ResourceAttributes) (licensing.Group, error) {
	g := licensing.Group{
		DisplayName: stringAttr(attrs, "displayName"),
		ExternalID:  stringAttr(attrs, "externalId"),
	}
	if strings.TrimSpace(g.DisplayName) == "" {
		return g, errInvalidValue("displayName must not be empty")
	}
	assignments, err := assignmentsFrom(rt, attrs)
	if err != nil {
		return g, err
	}
	g.Assignments = assignments
	if ms, ok := attrs["members"].([]any); ok {
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			id, _ := mm["value"].(string)
			if id == "" {
				return g, errInvalidValue("every member needs a value (the member's id)")
			}
			g.Members = append(g.Members, licensing.Member{ID: id, Type: licensing.MemberType(stringAttr(mm, "type"))})
		}
	}
	doc, err := document(attrs, groupColumns)
	if err != nil {
		return g, err
	}
	g.Doc = doc
	return g, nil
}

// groupAttributes is the group's SCIM representation without id, schemas
// and meta, with the group licensing extension of every product of the
// catalog c. base is the SCIM base URL for members' $ref.
func groupAttributes(c licensing.Catalog, g licensing.Group, base string, withMembers bool) (scim.ResourceAttributes, error) {
	attrs := scim.ResourceAttributes{}
	if len(g.Doc) > 0 {
		if err := json.Unmarshal(g.Doc, &attrs); err != nil {
			return nil, fmt.Errorf("decode group %s document: %w", g.ID, err)
		}
	}
	attrs["displayName"] = g.DisplayName
	if len(c.Products) > 0 {
		attrs[schemas.GroupLicensingURN] = licensingAttributes(c, g.Assignments)
	}
	// A group without members has no members attribute: RFC 7643
	// section 2.5 returns no unassigned attribute, and [] is one.
	if withMembers && len(g.Members) > 0 {
		members := make([]any, 0, len(g.Members))
		for _, m := range g.Members {
			endpoint := "/Users/"
			if m.Type == licensing.MemberGroup {
				endpoint = "/Groups/"
			}
			member := map[string]any{"value": m.ID, "type": string(m.Type), "$ref": base + endpoint + m.ID}
			if m.Display != "" {
				member["display"] = m.Display
			}
			members = append(members, member)
		}
		attrs["members"] = members
	}
	return attrs, nil
}

func groupResource(c licensing.Catalog, g licensing.Group, base string) (scim.Resource, error) {
	attrs, err := groupAttributes(c, g, base, true)
	if err != nil {
		return scim.Resource{}, err
	}
	return resource(g.ID, g.ExternalID, attrs, g.Created, g.LastModified, etag(g.Version, nil, nil)), nil
}

func resource(id, externalID string, attrs scim.ResourceAttributes, created, modified time.Time, etag string) scim.Resource {
	r := scim.Resource{
		ID:         id,
		Attributes: attrs,
		Meta:       scim.Meta{Created: &created, LastModified: &modified, Version: etag},
	}
	if externalID != "" {
		r.ExternalID = optional.NewString(externalID)
	}
	return r
}

// representation is the full SCIM representation of a resource, as a GET
// answers it: what elimity adds (schemas, id, externalId, meta) included.
func representation(rt schemas.Resource, r scim.Resource, location string) map[string]any {
	m := maps.Clone(map[string]any(r.Attributes))
	m["id"] = r.ID
	if r.ExternalID.Present() {
		m["externalId"] = r.ExternalID.Value()
	}
	ids := []string{rt.Core.ID}
	for _, e := range rt.Extensions {
		ids = append(ids, e.ID)
	}
	m["schemas"] = ids
	meta := map[string]any{"resourceType": rt.Name, "location": location, "version": r.Meta.Version}
	if r.Meta.Created != nil {
		meta["created"] = r.Meta.Created.UTC().Format(time.RFC3339)
	}
	if r.Meta.LastModified != nil {
		meta["lastModified"] = r.Meta.LastModified.UTC().Format(time.RFC3339)
	}
	m["meta"] = meta
	return m
}

// patchable is the map a PATCH applies to: the representation without
// meta, with schemas naming the core schema and every extension present.
func patchable(rt schemas.Resource, r scim.Resource) map[string]any {
	m := maps.Clone(map[string]any(r.Attributes))
	m["id"] = r.ID
	if r.ExternalID.Present() {
		m["externalId"] = r.ExternalID.Value()
	}
	m["schemas"] = []any{rt.Core.ID}
	return m
}

// withSchemas returns m with schemas naming the core schema and every
// extension object m holds, as validateResource wants.
func withSchemas(rt schemas.Resource, m map[string]any) map[string]any {
	ids := []any{rt.Core.ID}
	for _, e := range rt.Extensions {
		if _, ok := m[e.ID]; ok {
			ids = append(ids, e.ID)
		}
	}
	m["schemas"] = ids
	return m
}
