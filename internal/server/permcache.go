package server

import (
	"context"
	"sync"
	"time"

	"sotto"
)

// orgTTL bounds how long a cached organization setting is trusted: a
// change made through another node is seen within it; one made here at
// once.
const orgTTL = 30 * time.Second

// orgCache shares one setting per organization between requests and live
// streams (the permission matrix, the session policy). Cached values are
// never modified.
type orgCache[T any] struct {
	mu sync.Mutex
	m  map[string]orgEntry[T]
}

type orgEntry[T any] struct {
	v       T
	fetched time.Time
}

// get returns orgID's value, loading it through load when absent or stale.
func (c *orgCache[T]) get(ctx context.Context, orgID string, now time.Time, load func(context.Context, string) (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.m[orgID]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < orgTTL && now.Sub(e.fetched) >= 0 {
		return e.v, nil
	}
	v, err := load(ctx, orgID)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]orgEntry[T]{}
	}
	c.m[orgID] = orgEntry[T]{v: v, fetched: now}
	c.mu.Unlock()
	return v, nil
}

// forget drops orgID's cached value, after a change.
func (c *orgCache[T]) forget(orgID string) {
	c.mu.Lock()
	delete(c.m, orgID)
	c.mu.Unlock()
}

// permCache caches each organization's permission matrix.
type permCache = orgCache[sotto.Permissions]
