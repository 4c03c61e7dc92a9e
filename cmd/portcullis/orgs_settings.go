package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/portcullis-id/portcullis/admin"
	"github.com/portcullis-id/portcullis/authn/directory"
)

// brandingFlags are set-branding's flags; only those given change the branding, and an empty
// value removes that part.
type brandingFlags struct{ name, logoURI, colour string }

func (f *brandingFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", "", "name shown on the sign-in pages (\"\" removes it)")
	fs.StringVar(&f.logoURI, "logo-uri", "", "https URL of the logo shown on the sign-in pages (\"\" removes it)")
	fs.StringVar(&f.colour, "colour", "", "primary colour as #rrggbb, dark enough for white text (\"\" restores the default)")
}

// settingsService runs the admin use cases of the Policy page's settings as the command line.
func (o *orgCLI) settingsService() *admin.Service {
	return &admin.Service{DB: o.env.db, Directory: o.dir, Audit: o.log}
}

func (o *orgCLI) setBranding(ctx context.Context, org directory.Org, fs *flag.FlagSet, f brandingFlags) error {
	given := 0
	next, err := o.settingsService().ChangeBranding(ctx, admin.CLI(org.ID), func(b *directory.Branding) error {
		fs.Visit(func(fl *flag.Flag) {
			switch fl.Name {
			case "name":
				b.DisplayName, given = f.name, given+1
			case "logo-uri":
				b.LogoURI, given = f.logoURI, given+1
			case "colour":
				b.PrimaryColour, given = f.colour, given+1
			}
		})
		if given == 0 {
			return &configError{"set-branding", "give --name, --logo-uri or --colour"}
		}
		return nil
	})
	if err != nil {
		return cliFieldError(err)
	}
	if o.json {
		return json.NewEncoder(o.out).Encode(admin.BrandingDetails(next.Branding))
	}
	b := next.Branding
	fmt.Fprintf(o.out, "%s: branding saved\n  name:    %s\n  logo:    %s\n  colour:  %s\n", org.Slug,
		orNone(b.DisplayName), orNone(b.LogoURI), orNone(b.PrimaryColour))
	return nil
}

func (o *orgCLI) setPasswordRules(ctx context.Context, org directory.Org, fs *flag.FlagSet, minLength int) error {
	set := false
	fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "min-length" })
	if !set {
		return &configError{"--min-length", "required: the fewest characters of a new password, 12 to 64"}
	}
	next, err := o.settingsService().ChangePasswordRules(ctx, admin.CLI(org.ID), func(r *directory.PasswordRules) error {
		r.MinLength = minLength
		return nil
	})
	if err != nil {
		return cliFieldError(err)
	}
	if o.json {
		return json.NewEncoder(o.out).Encode(admin.PasswordRulesDetails(next.Passwords))
	}
	fmt.Fprintf(o.out, "%s: new passwords need at least %d characters\n", org.Slug, next.Passwords.MinLength)
	return nil
}

// lifetimeFlags are set-session-lifetimes' flags; only those given change the lifetimes.
type lifetimeFlags struct{ idle, absolute string }

func (f *lifetimeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.idle, "idle", "", "how long a session may go unused: 5m to 24h, e.g. 4h (0 or default: the server's session-idle)")
	fs.StringVar(&f.absolute, "absolute", "", "how long a session lasts at most: 1h to 90 days, e.g. 168h or 30d (0 or default: the server's session-absolute)")
}

func (o *orgCLI) setSessionLifetimes(ctx context.Context, org directory.Org, fs *flag.FlagSet, f lifetimeFlags) error {
	given := 0
	next, err := o.settingsService().ChangeSessionLifetimes(ctx, admin.CLI(org.ID), func(l *directory.SessionLifetimes) error {
		var err error
		fs.Visit(func(fl *flag.Flag) {
			if err != nil {
				return
			}
			switch fl.Name {
			case "idle":
				l.Idle, err = admin.ParseLifetime("idle", f.idle)
				given++
			case "absolute":
				l.Absolute, err = admin.ParseLifetime("absolute", f.absolute)
				given++
			}
		})
		if err == nil && given == 0 {
			err = &configError{"set-session-lifetimes", "give --idle, --absolute or both"}
		}
		return err
	})
	if err != nil {
		return cliFieldError(err)
	}
	if o.json {
		return json.NewEncoder(o.out).Encode(admin.SessionLifetimesDetails(next.Sessions))
	}
	fmt.Fprintf(o.out, "%s: sessions started from now on: %s\n", org.Slug, lifetimesText(next.Sessions))
	return nil
}

// lifetimesText describes session lifetimes for people.
func lifetimesText(l directory.SessionLifetimes) string {
	idle, absolute := "the server's default", "the server's default"
	if l.Idle > 0 {
		idle = directory.ShortDuration(l.Idle)
	}
	if l.Absolute > 0 {
		absolute = directory.ShortDuration(l.Absolute)
	}
	return "end after " + idle + " unused, " + absolute + " at most"
}

// cliFieldError names the flag of a refused field.
func cliFieldError(err error) error {
	ae, ok := admin.AsError(err)
	if !ok || ae.Field == "" {
		return err
	}
	flagName := map[string]string{"name": "--name", "logo_uri": "--logo-uri", "primary_colour": "--colour",
		"min_length": "--min-length", "idle": "--idle", "absolute": "--absolute"}[ae.Field]
	if flagName == "" {
		flagName = ae.Field
	}
	return &configError{flagName, ae.Message}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
