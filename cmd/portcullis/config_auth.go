package main

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/portcullis-id/portcullis/authn/password"
	"github.com/portcullis-id/portcullis/authn/throttle"
	"github.com/portcullis-id/portcullis/internal/mail"
)

// MailConfig is the SMTP server for email to users; without a host, messages go to the log.
type MailConfig struct {
	Host, TLS, Username, Password, From string
	Port                                int
}

// PasswordConfig is how legacy passwords are hashed and how password sign-in is rate limited.
type PasswordConfig struct {
	Argon2       password.Params
	AccountLimit int           // failed passwords per account within Window before a delay
	IPLimit      int           // failed passwords per IP address within Window before a delay
	Window       time.Duration // how long failures are counted
}

func defaultPasswordConfig() PasswordConfig {
	acct, ip := throttle.DefaultPasswordAccount(), throttle.DefaultPasswordIP()
	return PasswordConfig{Argon2: password.DefaultParams(), AccountLimit: acct.Limit, IPLimit: ip.Limit, Window: acct.Window}
}

// mailKeys are the settings of commands that may send email.
var mailKeys = []string{"smtp-host", "smtp-port", "smtp-tls", "smtp-username", "smtp-password", "smtp-from"}

// passwordKeys are the settings of password sign-in.
var passwordKeys = []string{"password-argon2-memory", "password-argon2-iterations", "password-argon2-parallelism",
	"password-account-limit", "password-ip-limit", "password-limit-window"}

func (c *Config) mailOptions(m map[string]option) {
	str := func(dst *string) func(string) error { return func(v string) error { *dst = v; return nil } }
	m["smtp-host"] = option{usage: "SMTP server for email to users (empty: messages go to the log)", set: str(&c.Mail.Host)}
	m["smtp-port"] = option{usage: "SMTP port (default 587 for starttls, 465 for tls)", set: intSetter(&c.Mail.Port, 1, 65535)}
	m["smtp-tls"] = option{usage: "starttls, tls or none (none only for a loopback server)", set: str(&c.Mail.TLS)}
	m["smtp-username"] = option{usage: "SMTP AUTH user name", set: str(&c.Mail.Username)}
	m["smtp-password"] = option{usage: "SMTP AUTH password (prefer the environment variable)", set: str(&c.Mail.Password)}
	m["smtp-from"] = option{usage: "sender address, e.g. \"Portcullis <no-reply@example.com>\"", set: str(&c.Mail.From)}
}

func (c *Config) passwordOptions(m map[string]option) {
	m["password-argon2-memory"] = option{usage: "argon2id memory in KiB for new password hashes",
		set: uint32Setter(&c.Passwords.Argon2.Memory)}
	m["password-argon2-iterations"] = option{usage: "argon2id passes for new password hashes",
		set: uint32Setter(&c.Passwords.Argon2.Iterations)}
	m["password-argon2-parallelism"] = option{usage: "argon2id lanes for new password hashes", set: func(v string) error {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return errors.New("want a number from 1 to 255")
		}
		c.Passwords.Argon2.Parallelism = uint8(n)
		return nil
	}}
	m["password-account-limit"] = option{usage: "failed passwords per account before sign-in is delayed",
		set: intSetter(&c.Passwords.AccountLimit, 1, 1000)}
	m["password-ip-limit"] = option{usage: "failed passwords per IP address before sign-in is delayed",
		set: intSetter(&c.Passwords.IPLimit, 1, 100000)}
	m["password-limit-window"] = option{usage: "how long failed passwords are counted",
		set: durationSetter(&c.Passwords.Window)}
}

func intSetter(dst *int, lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return errors.New("want a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
		}
		*dst = n
		return nil
	}
}

func uint32Setter(dst *uint32) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return errors.New("want a whole number")
		}
		*dst = uint32(n)
		return nil
	}
}

func (c Config) mailConfig() mail.Config {
	return mail.Config{Host: c.Mail.Host, Port: c.Mail.Port, TLS: c.Mail.TLS, Username: c.Mail.Username,
		Password: c.Mail.Password, From: c.Mail.From}
}

func (c Config) validateMail(keys []string) error {
	if !c.has(keys, "smtp-host") {
		return nil
	}
	if err := c.mailConfig().Validate(); err != nil {
		return &configError{"smtp", err.Error()}
	}
	return nil
}

func (c Config) validatePasswords(keys []string) error {
	if !c.has(keys, "password-argon2-memory") {
		return nil
	}
	if err := c.Passwords.Argon2.Validate(); err != nil {
		return &configError{"password", err.Error()}
	}
	if c.Passwords.Window < time.Minute || c.Passwords.Window > 24*time.Hour {
		return &configError{"password_limit_window", "must be between 1m and 24h"}
	}
	return nil
}

// accountRule and ipRule are the password sign-in limits: past the limit, each further failure
// doubles a delay that starts at one minute, up to an hour.
func (p PasswordConfig) accountRule() throttle.Rule {
	r := throttle.DefaultPasswordAccount()
	r.Limit, r.Window = p.AccountLimit, p.Window
	return r
}

func (p PasswordConfig) ipRule() throttle.Rule {
	r := throttle.DefaultPasswordIP()
	r.Limit, r.Window = p.IPLimit, p.Window
	return r
}

// newMailer returns the configured email sender (the log when no SMTP host is set).
func newMailer(cfg Config, log *slog.Logger) (mail.Sender, error) {
	return mail.New(cfg.mailConfig(), log)
}
