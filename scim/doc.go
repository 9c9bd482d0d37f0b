// Package scim is the SCIM 2.0 adapter (RFC 7643, RFC 7644, RFC 9865): it
// serves Users and Groups over the licensing Store through
// elimity-com/scim, translates SCIM filters into licensing queries, applies
// PATCH operations, keeps multi-valued attributes to RFC 7643 section 2.4
// (one primary, no exact duplicates: multivalued.go), projects
// attributes, reads and writes the licensing extension of User as the
// user's assignments (licensing.go), hands the password to the hasher it
// is given, serves Bulk requests by running each operation through the
// single request's handlers (bulk.go), and translates licensing errors
// into SCIM errors in one place.
//
// It must not import gorm, a SQL driver, or the other adapters, and does
// not choose a password hashing algorithm.
package scim
