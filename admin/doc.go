// Package admin will be the REST admin API (/api/v1/admin) over licensing:
// agents by product, shared sessions, plans, privileges, usage and audit.
// It is empty until the admin API issue; it must never import gorm, the
// storage packages or the other adapters.
package admin
