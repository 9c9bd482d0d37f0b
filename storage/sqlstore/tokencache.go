package sqlstore

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/scimd/scimd/licensing"
)

// tokenCacheTTL is how long a token read from the database may be served
// from memory. Every request reads its bearer token (Token), which without
// the cache is a round trip per request. A token that another process
// (another replica, the command line) revokes or deletes stops working
// here within this time, so that revocation reaches every replica within
// a second; one revoked or deleted through this store stops at once
// (endsTokens).
const tokenCacheTTL = 500 * time.Millisecond

// tokenCacheSize bounds the tokens kept: when it is reached, the entries
// past their time go, and if none has, all of them.
const tokenCacheSize = 4096

// tokenCache holds the tokens read recently, found ones only: an unknown
// id always goes to the database.
type tokenCache struct {
	mu sync.Mutex
	// gen counts the writes that ended tokens; a read that began before
	// one of them is not kept (see put).
	gen     uint64
	entries map[string]cachedToken
}

type cachedToken struct {
	t     licensing.Token
	until time.Time
}

// get returns the token with the id if one read less than tokenCacheTTL
// ago is kept.
func (c *tokenCache) get(id string, now time.Time) (licensing.Token, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !now.Before(e.until) {
		return licensing.Token{}, false
	}
	return e.t, true
}

// reading returns what a read from the database starting now hands put.
func (c *tokenCache) reading() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps t, read from the database by a read that began at start,
// when reading answered gen. A write that ended tokens since may have
// committed after the read saw the row, so then t is dropped. The time
// counts from the read's start, which the row is no older than.
func (c *tokenCache) put(gen uint64, t licensing.Token, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= tokenCacheSize {
		c.dropExpired(start)
	}
	if c.entries == nil || len(c.entries) >= tokenCacheSize {
		c.entries = make(map[string]cachedToken)
	}
	c.entries[t.ID] = cachedToken{t: t, until: start.Add(tokenCacheTTL)}
}

func (c *tokenCache) dropExpired(now time.Time) {
	for id, e := range c.entries {
		if !now.Before(e.until) {
			delete(c.entries, id)
		}
	}
}

// forget drops every token kept and the reads under way.
func (c *tokenCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
}

// tokenEndsKey marks the context of a write transaction (see tx); the
// mark is set when the transaction revokes or deletes tokens.
type tokenEndsKey struct{}

type tokenEnds struct{ any bool }

func markTokenEnds(ctx context.Context) (context.Context, *tokenEnds) {
	ends := &tokenEnds{}
	return context.WithValue(ctx, tokenEndsKey{}, ends), ends
}

// endsTokens notes that a statement of the transaction tx revokes or
// deletes tokens: once the transaction ends, the cache forgets every
// token (tx), so that this process refuses them from then on. The whole
// cache goes because a deletion of a user takes its tokens along without
// naming them, and such writes are rare.
func endsTokens(tx *gorm.DB) {
	if ends, ok := tx.Statement.Context.Value(tokenEndsKey{}).(*tokenEnds); ok {
		ends.any = true
	}
}
