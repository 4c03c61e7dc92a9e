// Command portcullis is the Portcullis OpenID Connect provider: the server and its admin CLI.
// This package is the one place where everything is built and wired.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Usage: portcullis COMMAND [flags]

Commands:
  serve                 run the server
  migrate up|status     apply or list database migrations
  clients create|list|show|delete|rotate-secret
                        manage OIDC clients
  keys list|rotate      manage token signing keys
  orgs create|list|show|set-policy|adoption
                        manage organisations and their passkey policy
  users create|import   add a user (or import a CSV of joiners and leavers) and print
                        enrollment links
  setup-link            print a fresh first-run setup link (while no admin exists)
  version               print the version

Run "portcullis COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portcullis:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "clients":
		return cmdClients(ctx, rest, stdout, stderr)
	case "keys":
		return cmdKeys(ctx, rest, stdout, stderr)
	case "orgs":
		return cmdOrgs(ctx, rest, stdout, stderr)
	case "users":
		return cmdUsers(ctx, rest, stdout, stderr)
	case "setup-link":
		return cmdSetupLink(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "portcullis", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("portcullis "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
