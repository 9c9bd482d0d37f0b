// Package admin is the REST admin API (/api/v1/admin) over licensing:
// users and the products they hold, products with their usage, plans,
// shared sessions, usage reports, the audit log and tokens. Every
// endpoint needs an admin token holding one of the privileges its Route
// names. Errors are RFC 9457 problem details. It never imports gorm, the
// storage packages or the other adapters.
package admin
