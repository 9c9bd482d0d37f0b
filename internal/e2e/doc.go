// Package e2e holds end-to-end tests that run real scimd processes
// against a real database. It has no code of its own.
package e2e
