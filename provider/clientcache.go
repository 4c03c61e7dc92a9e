package provider

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/provider/clients"
)

// ClientCacheTTL is how long a server trusts a client it has read. A client created elsewhere is
// seen at once (unknown ids always go to the database); a change to or deletion of an existing
// client reaches every server within this time.
const ClientCacheTTL = 3 * time.Second

// ClientCache keeps recently used clients in memory: every token request authenticates its
// client and then reads it again with the token, and both reads are on the hot path.
type ClientCache struct {
	next clientSource
	mu   sync.RWMutex
	m    map[string]cachedClient
	now  func() time.Time
}

type cachedClient struct {
	c   fosite.Client
	exp time.Time
}

func newClientCache(next clientSource) *ClientCache {
	return &ClientCache{next: next, m: map[string]cachedClient{}, now: time.Now}
}

func (c *ClientCache) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.c, nil
	}
	cl, err := c.next.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		// Bounded: an attacker cycling real client ids cannot grow it without limit.
		clear(c.m)
	}
	c.m[id] = cachedClient{c: cl, exp: now.Add(ClientCacheTTL)}
	c.mu.Unlock()
	return cl, nil
}

// Get returns a registered client through the cache (database.ErrNotFound when unknown), for the
// sign-in pages that show which app is asking.
func (c *ClientCache) Get(ctx context.Context, id string) (clients.Client, error) {
	fc, err := c.GetClient(ctx, id)
	if errors.Is(err, fosite.ErrNotFound) {
		return clients.Client{}, database.ErrNotFound
	}
	if err != nil {
		return clients.Client{}, err
	}
	return fc.(*Client).Client, nil
}
