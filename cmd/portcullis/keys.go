package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/portcullis-id/portcullis/internal/audit"
	"github.com/portcullis-id/portcullis/provider"
	"github.com/portcullis-id/portcullis/provider/keys"
)

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "rotate") {
		return fmt.Errorf("usage: portcullis keys list|rotate [--alg ES256|RS256] [--database …] [--secret-file …]")
	}
	fs := newFlagSet("keys "+args[0], stderr)
	alg := fs.String("alg", "", "rotate only this algorithm (ES256 or RS256); default both")
	cfg, err := loadConfig(fs, args[1:], dbKeys...)
	if err != nil {
		return err
	}
	if *alg != "" && !keys.Supported(*alg) {
		return &configError{"--alg", fmt.Sprintf("%q is not ES256 or RS256", *alg)}
	}
	e, err := openEnv(ctx, cfg, stderr, false)
	if err != nil {
		return err
	}
	defer e.db.Close()
	km := keys.NewManager(e.db, e.secret.Sealer("signing-keys"), keys.Options{RetiredPublishFor: provider.RetiredKeyPublish})
	if err := km.Ensure(ctx); err != nil {
		return err
	}
	if args[0] == "rotate" {
		kids, err := km.Rotate(ctx, *alg)
		if err != nil {
			return err
		}
		log := &audit.Log{DB: e.db, Logger: e.log}
		if err := log.Record(ctx, audit.Event{Action: "keys.rotated", OrgID: "system", Actor: "cli",
			Details: map[string]any{"alg": *alg, "active": kids}}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rotated: now signing with %v (other servers switch within 30s)\n", kids)
	}
	list, err := km.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tPUBLISHED UNTIL")
	for _, k := range list {
		until := ""
		if k.PublishUntil != nil {
			until = k.PublishUntil.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Alg, k.State, k.CreatedAt.UTC().Format(time.RFC3339), until)
	}
	return tw.Flush()
}
