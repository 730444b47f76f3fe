package server

import (
	"context"
	"net/http"
	"time"

	"sotto"
)

// healthz answers 200 while the process is alive.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 when the database answers and its schema is current,
// 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return &sotto.Error{Kind: sotto.KindUnavailable, Code: "database_unreachable", Msg: "The database is not reachable.", Err: err}
	}
	st, err := s.db.MigrationState(ctx)
	if err != nil {
		return &sotto.Error{Kind: sotto.KindUnavailable, Code: "database_unreachable", Msg: "The database schema could not be read.", Err: err}
	}
	if !st.UpToDate() {
		return &sotto.Error{Kind: sotto.KindUnavailable, Code: "migrations_pending", Msg: "Database migrations are pending; run `sotto migrate`."}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "schema_version": st.Current})
	return nil
}

// version reports the build.
func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.cfg.Version)
	return nil
}
