// Package archtest holds the test that keeps the direction of dependencies
// of STYLE.md true. It has no code of its own.
package archtest
