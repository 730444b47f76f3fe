package server

import (
	"context"
	"sync"
	"time"

	"sotto"
)

// permsTTL bounds how long a cached permission matrix is trusted: a change
// made through another node is seen within it; one made here at once.
const permsTTL = 30 * time.Second

// permCache shares each organization's permission matrix between requests
// and live streams (a matrix is a few kilobytes; one per stream adds up).
// Cached matrices are never modified.
type permCache struct {
	mu sync.Mutex
	m  map[string]permEntry
}

type permEntry struct {
	p       sotto.Permissions
	fetched time.Time
}

// get returns orgID's matrix, loading it through load when absent or stale.
func (c *permCache) get(ctx context.Context, orgID string, now time.Time, load func(context.Context, string) (sotto.Permissions, error)) (sotto.Permissions, error) {
	c.mu.Lock()
	e, ok := c.m[orgID]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < permsTTL && now.Sub(e.fetched) >= 0 {
		return e.p, nil
	}
	p, err := load(ctx, orgID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]permEntry{}
	}
	c.m[orgID] = permEntry{p: p, fetched: now}
	c.mu.Unlock()
	return p, nil
}

// forget drops orgID's cached matrix, after a change.
func (c *permCache) forget(orgID string) {
	c.mu.Lock()
	delete(c.m, orgID)
	c.mu.Unlock()
}
