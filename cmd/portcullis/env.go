package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/portcullis-id/portcullis/authn/session"
	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/secret"
	"github.com/portcullis-id/portcullis/provider/rplogout"
)

// dbKeys are the settings every command that touches the database takes.
var dbKeys = []string{"database", "secret-file", "issuer", "log-format", "log-level"}

// env is what the CLI commands share: the database and the system secret.
type env struct {
	cfg    Config
	db     *database.DB
	secret *secret.Secret
	log    *slog.Logger
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openEnv loads the secret and opens the database. The secret file is generated only for a
// localhost issuer; migrate says whether pending migrations are applied.
func openEnv(ctx context.Context, cfg Config, stderr io.Writer, migrate bool) (*env, error) {
	log := newLogger(cfg, stderr)
	sec, created, err := secret.Load(cfg.SecretFile, isDevIssuer(cfg.Issuer))
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("generated a new system secret for this development instance; keep it with the database",
			"secret_file", cfg.SecretFile)
	}
	db, err := database.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("applied database migrations", "versions", applied, "dialect", db.Dialect)
		}
	} else if err := db.Ready(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w", err)
	}
	return &env{cfg: cfg, db: db, secret: sec, log: log}, nil
}

// sessionStore is the sign-in session store for a CLI command: sessions it ends queue their
// back-channel logout tokens (the running server's worker delivers them), as the server's do.
func sessionStore(e *env) *session.Store {
	st := session.NewStore(e.db, e.secret.Hasher("session"))
	st.OnEnd = (&rplogout.Notifier{DB: e.db, Log: e.log}).OnEnd
	return st
}
