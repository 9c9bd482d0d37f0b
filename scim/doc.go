// Package scim is the SCIM 2.0 adapter (RFC 7643, RFC 7644, RFC 9865): it
// serves Users and Groups over the licensing Store through
// elimity-com/scim, translates SCIM filters into licensing queries, applies
// PATCH operations, projects attributes, and translates licensing errors
// into SCIM errors in one place.
//
// It must not import gorm, a SQL driver, or the other adapters.
package scim
