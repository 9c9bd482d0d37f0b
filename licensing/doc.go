// Package licensing is the domain core of scimd: accounts and their API
// tokens, the directory of users and groups that identity providers
// provision, and (as the seat engine grows) products, subscriptions,
// assignments, the licenses in force that direct and group assignments
// make (inforce.go), seats and sessions, the throttling of password
// sign-ins (throttle.go), and the console's users, password links and
// sessions (console.go).
//
// It owns the Store port that every storage backend implements and the
// domain errors that adapters translate at their boundary. It imports the
// standard library only: no HTTP, no SQL driver, no SCIM library.
package licensing
