// Package agent is the adapter of the agent app's API (/api/v1/agent)
// over licensing: sign-in, the products an agent can use now, and the life
// of support sessions (start, wait for a shared seat, connect, heartbeat,
// end). Errors are RFC 9457 problem details with a stable code. Password
// sign-ins go through licensing.SignInThrottle, which may refuse one (429)
// before its user is looked up or its password hashed.
//
// It must not import gorm, the storage packages or the other adapters.
package agent
