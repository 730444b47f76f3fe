package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds each statement cache: queries built with a
// variable number of placeholders would otherwise grow it without end.
const maxCachedStmts = 256

// stmtCache keeps prepared statements by query text. Parsing SQL was the
// largest single cost of a request (over a third of CPU on SQLite), and
// almost every query is one of a few dozen fixed strings.
type stmtCache struct {
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]struct{} // writer queries seen but not yet prepared
}

// get returns the prepared statement for query, if any.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// full reports whether no more statements may be cached.
func (c *stmtCache) full() bool { return len(c.m)+len(c.pending) >= maxCachedStmts }

// put records st for query (closing st if the cache is full or query was
// cached meanwhile).
func (c *stmtCache) put(query string, st *sql.Stmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	if _, ok := c.m[query]; ok || len(c.m) >= maxCachedStmts {
		st.Close()
		return
	}
	c.m[query] = st
}

// closeAll closes every cached statement.
func (c *stmtCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// readerPool is the reader *sql.DB with its queries prepared once (on
// each connection, lazily) and reused.
type readerPool struct {
	*sql.DB
	stmts stmtCache
}

// stmt returns the prepared statement for query, preparing it on first
// use; nil when the cache is full or preparing failed (the caller then
// runs the query unprepared, which reports any error itself).
func (p *readerPool) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := p.stmts.get(query); st != nil {
		return st
	}
	p.stmts.mu.Lock()
	full := p.stmts.full()
	p.stmts.mu.Unlock()
	if full {
		return nil
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts.put(query, st)
	return p.stmts.get(query)
}

// QueryContext runs a prepared query.
func (p *readerPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a prepared single-row query.
func (p *readerPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *readerPool) Close() error {
	p.stmts.closeAll()
	return p.DB.Close()
}

// txStmt returns query prepared for t's transaction when the writer has
// prepared it before; otherwise nil, and the query is queued to be
// prepared once the writer connection is free again (after the commit).
func (t *Tx) txStmt(query string) *sql.Stmt {
	c := &t.db.wstmts
	c.mu.Lock()
	st := c.m[query]
	if st == nil && !c.full() {
		if c.pending == nil {
			c.pending = map[string]struct{}{}
		}
		c.pending[query] = struct{}{}
	}
	c.mu.Unlock()
	if st == nil {
		return nil
	}
	return t.tx.StmtContext(t.ctx, st)
}

// prepareWriterStmts prepares the queries writers used since the last
// call. Only the writer goroutine calls it, between transactions, when the
// writer connection is idle.
func (db *DB) prepareWriterStmts(ctx context.Context) {
	c := &db.wstmts
	c.mu.Lock()
	var qs []string
	for q := range c.pending {
		qs = append(qs, q)
	}
	c.pending = nil
	c.mu.Unlock()
	for _, q := range qs {
		if st, err := db.w.PrepareContext(ctx, q); err == nil {
			c.put(q, st)
		}
	}
}
