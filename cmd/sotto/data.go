package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

	awsKey      string
	awsRegion   string
	awsEndpoint string
	gcpKey      string
	gcpEndpoint string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.data, "data", "./sotto-data", "data directory (created with mode 0700): SQLite database and master key")
	fs.StringVar(&d.database, "database", "", "database DSN: postgres://... for PostgreSQL; empty for SQLite in the data directory")
	fs.StringVar(&d.masterKey, "master-key", "", "master key file (Tink keyset, mode 0600); empty for master.key in the data directory")
	fs.StringVar(&d.vaultURL, "kms-vault-url", "", "HashiCorp Vault address: use its Transit engine as the master key instead of a key file")
	fs.StringVar(&d.vaultKey, "kms-vault-key", "sotto", "Vault Transit key name")
	fs.StringVar(&d.vaultToken, "kms-vault-token", "", "Vault token (prefer the SOTTO_KMS_VAULT_TOKEN environment variable)")
	fs.StringVar(&d.awsKey, "kms-aws-key", "", "AWS KMS key (id, ARN or alias/NAME): use it as the master key instead of a key file; credentials from the standard AWS chain")
	fs.StringVar(&d.awsRegion, "kms-aws-region", "", "AWS region of --kms-aws-key; empty for AWS_REGION or the shared AWS config")
	fs.StringVar(&d.awsEndpoint, "kms-aws-endpoint", "", "AWS KMS endpoint URL (e.g. a VPC endpoint); empty for the region's public endpoint")
	fs.StringVar(&d.gcpKey, "kms-gcp-key", "", "Google Cloud KMS key projects/P/locations/L/keyRings/R/cryptoKeys/K: use it as the master key instead of a key file; credentials from Application Default Credentials")
	fs.StringVar(&d.gcpEndpoint, "kms-gcp-endpoint", "", "Cloud KMS endpoint URL; empty for "+crypt.GCPKMSEndpoint)
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
	master, desc, err := d.openMaster(ctx, dir)
	if err != nil {
		return nil, err
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
		if err := checkMaster(ctx, db, keys, master, desc); err != nil {
			db.Close()
			return nil, err
		}
	}
	return &app{db: db, keys: keys, master: master, dir: dir}, nil
}

// openMaster returns the master key the flags select (a key file unless
// one KMS is configured) and a description of it for error messages.
func (d *dataFlags) openMaster(ctx context.Context, dir string) (crypt.Master, string, error) {
	var kms []string
	for name, v := range map[string]string{"--kms-vault-url": d.vaultURL, "--kms-aws-key": d.awsKey, "--kms-gcp-key": d.gcpKey} {
		if v != "" {
			kms = append(kms, name)
		}
	}
	slices.Sort(kms)
	switch {
	case len(kms) > 1:
		return nil, "", usageError{"the master key can be in one KMS only, but " + strings.Join(kms, " and ") + " are set"}
	case d.awsKey == "" && (d.awsRegion != "" || d.awsEndpoint != ""):
		return nil, "", usageError{"--kms-aws-region and --kms-aws-endpoint need --kms-aws-key"}
	case d.gcpKey == "" && d.gcpEndpoint != "":
		return nil, "", usageError{"--kms-gcp-endpoint needs --kms-gcp-key"}
	}
	kmsClient := &http.Client{Timeout: 10 * time.Second}
	switch {
	case d.vaultURL != "":
		if d.vaultToken == "" {
			return nil, "", usageError{"--kms-vault-url needs a token: set SOTTO_KMS_VAULT_TOKEN"}
		}
		return crypt.NewVaultTransit(d.vaultURL, d.vaultToken, d.vaultKey, kmsClient), "Vault Transit key " + d.vaultKey + " at " + d.vaultURL, nil
	case d.awsKey != "":
		client, err := crypt.NewAWSKMSClient(ctx, d.awsRegion, d.awsEndpoint, 10*time.Second)
		if err != nil {
			return nil, "", fmt.Errorf("master key: %w", err)
		}
		m, err := crypt.NewAWSKMS(client, d.awsKey, 30*time.Second)
		if err != nil {
			return nil, "", fmt.Errorf("master key: %w", err)
		}
		return m, "AWS KMS key " + d.awsKey, nil
	case d.gcpKey != "":
		tokens, err := crypt.NewGCPTokenSource(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("master key: %w", err)
		}
		m, err := crypt.NewGCPKMS(d.gcpKey, d.gcpEndpoint, tokens, kmsClient)
		if err != nil {
			return nil, "", fmt.Errorf("master key: %w", err)
		}
		return m, "Cloud KMS key " + d.gcpKey, nil
	}
	path := d.masterKey
	if path == "" {
		path = filepath.Join(dir, "master.key")
	}
	fm, err := crypt.OpenMasterFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("master key: %w", err)
	}
	return fm, "key file " + path, nil
}

// checkMaster proves at start-up that master opens this database: it
// unwraps one stored key (the instance key when there is one), or, while
// no key is stored yet, encrypts and decrypts a probe. A wrong, unreachable
// or unauthorized master thus fails here, not at the first sign-in. desc
// names the master in the error.
func checkMaster(ctx context.Context, db *store.DB, keys *crypt.Keyring, master crypt.Master, desc string) error {
	var id string
	var wrapped []byte
	err := db.QueryRow(ctx, `SELECT id, wrapped FROM keys ORDER BY id LIMIT 1`).Scan(&id, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		ad := crypt.AD("sotto", "master", "probe")
		ct, err := master.Encrypt([]byte("sotto master key probe"), ad)
		if err == nil {
			_, err = master.Decrypt(ct, ad)
		}
		if err != nil {
			return fmt.Errorf("master key (%s) does not work: %w", desc, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("master key check: read stored keys: %w", err)
	}
	if _, err := keys.Org(store.KeyOrgID(id), wrapped); err != nil {
		if errors.Is(err, crypt.ErrTampered) {
			return fmt.Errorf("master key (%s) cannot open this database's stored keys: it is not the master key the data was encrypted with (check --master-key and the --kms-* settings), or the stored key %q was altered: %w", desc, id, err)
		}
		return fmt.Errorf("master key (%s) could not open this database's stored keys: %w", desc, err)
	}
	return nil
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
