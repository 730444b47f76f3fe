package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sotto/internal/config"
	"sotto/internal/crypt"
	"sotto/internal/store"
)

// dataFlags are the settings every command that opens the database shares.
type dataFlags struct {
	data       string
	database   string
	masterKey  string
	vaultURL   string
	vaultKey   string
	vaultToken string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", "./sotto-data", "data directory (created with mode 0700): SQLite database and master key")
	fs.StringVar(&d.database, "database", "", "database DSN: postgres://... for PostgreSQL; empty for SQLite in the data directory")
	fs.StringVar(&d.masterKey, "master-key", "", "master key file (Tink keyset, mode 0600); empty for master.key in the data directory")
	fs.StringVar(&d.vaultURL, "kms-vault-url", "", "HashiCorp Vault address: use its Transit engine as the master key instead of a key file")
	fs.StringVar(&d.vaultKey, "kms-vault-key", "sotto", "Vault Transit key name")
	fs.StringVar(&d.vaultToken, "kms-vault-token", "", "Vault token (prefer the SOTTO_KMS_VAULT_TOKEN environment variable)")
	fs.String("config", "", "config file of `name = value` lines (names as these flags)")
}

// app is what an opened data directory provides.
type app struct {
	db     *store.DB
	keys   *crypt.Keyring
	master crypt.Master
	dir    string
}

// open prepares the data directory, opens the database and the master key,
// and (when migrate is set) applies migrations.
func (d *dataFlags) open(ctx context.Context, log *slog.Logger, migrate bool) (*app, error) {
	dir, err := filepath.Abs(d.data)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := ensurePrivateDir(dir, log); err != nil {
		return nil, err
	}
	var master crypt.Master
	if d.vaultURL != "" {
		if d.vaultToken == "" {
			return nil, usageError{"--kms-vault-url needs a token: set SOTTO_KMS_VAULT_TOKEN"}
		}
		master = crypt.NewVaultTransit(d.vaultURL, d.vaultToken, d.vaultKey, &http.Client{Timeout: 10 * time.Second})
	} else {
		path := d.masterKey
		if path == "" {
			path = filepath.Join(dir, "master.key")
		}
		fm, err := crypt.OpenMasterFile(path)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		master = fm
	}
	keys := crypt.NewKeyring(master, 10000)
	dsn := d.database
	if dsn == "" {
		dsn = filepath.Join(dir, "sotto.db")
	}
	db, err := store.Open(ctx, dsn, store.Options{Keys: keys})
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		for _, m := range applied {
			log.Info("migration applied", "version", m.Version, "name", m.Name)
		}
	}
	return &app{db: db, keys: keys, master: master, dir: dir}, nil
}

// openData parses a maintenance command's flags (the data settings plus
// those extra registers), then opens the data directory, applying pending
// migrations when migrate is set. Its log goes to stderr, warnings only.
func (e *environ) openData(ctx context.Context, name, summary string, args []string, migrate bool, extra func(*flag.FlagSet)) (*app, error) {
	var d dataFlags
	fs := e.flagSet(name)
	d.register(fs)
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() { config.Usage(e.stderr, name, summary, fs) }
	if err := config.Resolve(fs, args, e.getenv); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("sotto %s takes no arguments (got %q)", name, fs.Arg(0))}
	}
	log, err := e.newLogger("text", "warn")
	if err != nil {
		return nil, err
	}
	return d.open(ctx, log, migrate)
}

// ensurePrivateDir creates dir with mode 0700, or warns when an existing
// directory is readable by others.
func ensurePrivateDir(dir string, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		return os.Chmod(dir, 0o700)
	}
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("data directory is accessible to other users; run chmod 700 on it", "path", dir)
	}
	return nil
}
