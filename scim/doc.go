// Package scim is the SCIM 2.0 adapter (RFC 7643, RFC 7644, RFC 9865): it
// serves Users, Groups and the read-only Entitlements over the licensing
// Store through elimity-com/scim, translates SCIM filters into licensing
// queries, applies PATCH operations, keeps multi-valued attributes to
// RFC 7643 section 2.4 (one primary, no exact duplicates:
// multivalued.go), projects
// attributes, reads and writes the licensing extension of User as the
// user's assignments (licensing.go), hands the password to the hasher it
// is given, serves Bulk requests by running each operation through the
// single request's handlers (bulk.go), and translates licensing errors
// into SCIM errors in one place.
//
// It must not import gorm, a SQL driver, or the other adapters, and does
// not choose a password hashing algorithm.
//
// The files, one concern each:
//
//   - server.go: Options, New, routing, discovery, and the checks and
//     rewrites of a raw body before elimity parses it (read-only paths,
//     Entra's manager in a POST or PUT).
//   - handler.go, users.go, groups.go: the resource handlers elimity calls.
//   - resource.go: resources to and from their stored form, ETags.
//   - list.go: list and .search requests, paging.
//   - filter.go: filters and sortBy compiled into licensing queries.
//   - project.go: the attributes and excludedAttributes parameters.
//   - licensing.go: the licensing extension of User.
//   - writers.go: a user's direct assignments decided from the licensing
//     extension, the entitlements and the roles together.
//   - entitlements.go: the read-only Entitlement resource type.
//   - multivalued.go: RFC 7643 section 2.4 (duplicates, one primary).
//   - bounds.go: how many operations and values one write may carry.
//   - bulk.go: POST /Bulk.
//   - spc.go: ServiceProviderConfig.
//   - errors.go, errmap.go: request errors, licensing errors as SCIM errors.
//   - jsonvalue.go: helpers for JSON-like values (emptiness, equality, copies).
//
// PATCH, in the order a request meets it:
//
//   - patch_rewrite.go: the raw body rewritten into shapes elimity
//     accepts (Entra's manager forms, mis-cased and whole-extension URNs).
//   - patch_roles.go: Entra's SingleAppRoleAssignment
//     (roles[primary eq "True"].value) as the user's one primary role.
//   - patch_tolerance.go: what those rewrites forgive that RFC 7643 and
//     7644 let a server accept (a "schemas" key in an extension's value,
//     null assigned as a remove).
//   - patch.go: applyPatch and the patcher, which runs each operation
//     and checks the result as a whole.
//   - patch_path.go: a path resolved into its target.
//   - patch_attribute.go: the new value of the attribute a target names.
//   - patch_lists.go: adds and removals applied in place to long lists.
//   - elements.go: what identifies an element of a multi-valued attribute.
//   - filter_eval.go: value filters (emails[type eq "work"]) evaluated in
//     memory.
//   - coerce.go: values coerced to their attribute's type.
package scim
