package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-id/portcullis/internal/database"
	"github.com/portcullis-id/portcullis/internal/httpx"
)

// Config is every setting of Portcullis. Each key has a flag (--key-name), an environment
// variable (PORTCULLIS_KEY_NAME) and a YAML key (key_name); a flag wins over the environment,
// which wins over the file, which wins over the default.
type Config struct {
	Addr            string        `yaml:"addr"`
	Issuer          string        `yaml:"issuer"`
	Database        string        `yaml:"database"`
	SecretFile      string        `yaml:"secret_file"`
	LogFormat       string        `yaml:"log_format"`
	LogLevel        string        `yaml:"log_level"`
	NoMigrate       bool          `yaml:"no_migrate"`
	SessionIdle     time.Duration `yaml:"session_idle"`
	SessionAbsolute time.Duration `yaml:"session_absolute"`
	RPID            string        `yaml:"rp_id"`
	RPOrigins       []string      `yaml:"rp_origins"`
	RPName          string        `yaml:"rp_name"`
	MetricsAddr     string        `yaml:"metrics_addr"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the client (httpx).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// SignInRateLimit is how many sign-in starts one address may make per minute (0: no limit).
	SignInRateLimit int            `yaml:"sign_in_rate_limit"`
	Mail            MailConfig     `yaml:"-"`
	Passwords       PasswordConfig `yaml:"-"`

	// SecurityPageOrgs lists every organisation's passkey policy, by slug, on the public /security
	// page (ui/security). Off by default: the list would tell anyone which tenants the instance has.
	SecurityPageOrgs bool `yaml:"security_page_orgs"`
}

// Defaults are the documented default of every key.
func Defaults() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Issuer:          "http://localhost:8080",
		Database:        "sqlite:portcullis.db",
		SecretFile:      "portcullis.secret",
		LogFormat:       "auto",
		LogLevel:        "info",
		SessionIdle:     8 * time.Hour,
		SessionAbsolute: 30 * 24 * time.Hour,
		SignInRateLimit: 600,
		Passwords:       defaultPasswordConfig(),
	}
}

// configError names the key and the problem, in one line.
type configError struct{ key, problem string }

func (e *configError) Error() string {
	return fmt.Sprintf("invalid configuration: %s: %s", e.key, e.problem)
}

// option binds one key to its flag and environment variable.
type option struct {
	key, usage string
	set        func(string) error
	isBool     bool
	// reset, for a list (a repeatable flag), empties it: the flags or the environment variable
	// give the whole list, replacing the file's, as a flag replaces any other value.
	reset func()
}

func (c *Config) options(keys []string) []option {
	all := c.allOptions()
	out := make([]option, 0, len(keys))
	for _, k := range keys {
		o := all[k]
		o.key = k
		out = append(out, o)
	}
	return out
}

// allOptions maps every key (flag spelling) to its setter.
func (c *Config) allOptions() map[string]option {
	m := map[string]option{
		"addr":             {usage: "listen address host:port", set: func(v string) error { c.Addr = v; return nil }},
		"issuer":           {usage: "public issuer URL", set: func(v string) error { c.Issuer = v; return nil }},
		"database":         {usage: "sqlite:PATH or postgres://…", set: func(v string) error { c.Database = v; return nil }},
		"secret-file":      {usage: "file holding the system secret", set: func(v string) error { c.SecretFile = v; return nil }},
		"log-format":       {usage: "auto, text or json", set: func(v string) error { c.LogFormat = v; return nil }},
		"log-level":        {usage: "debug, info, warn or error", set: func(v string) error { c.LogLevel = v; return nil }},
		"no-migrate":       {usage: "do not apply migrations at start", isBool: true, set: boolSetter(&c.NoMigrate)},
		"session-idle":     {usage: "sign-in session idle lifetime", set: durationSetter(&c.SessionIdle)},
		"session-absolute": {usage: "sign-in session absolute lifetime", set: durationSetter(&c.SessionAbsolute)},
		"rp-id":            {usage: "WebAuthn relying party ID (default: the issuer's host)", set: func(v string) error { c.RPID = v; return nil }},
		"rp-origin": {usage: "extra origin allowed for passkey ceremonies (repeatable; env: comma-separated)",
			set: listSetter(&c.RPOrigins), reset: func() { c.RPOrigins = nil }},
		"rp-name": {usage: "name shown by the device's passkey prompt", set: func(v string) error { c.RPName = v; return nil }},
		"security-page-orgs": {usage: "list each organisation's passkey policy by slug on the public /security page",
			isBool: true, set: boolSetter(&c.SecurityPageOrgs)},
		"metrics-addr": {usage: "host:port of a separate listener for Prometheus /metrics (off when empty)",
			set: func(v string) error { c.MetricsAddr = v; return nil }},
		"trusted-proxy": {usage: "address or CIDR range of a reverse proxy whose X-Forwarded-For names the client (repeatable; env: comma-separated)",
			set: listSetter(&c.TrustedProxies), reset: func() { c.TrustedProxies = nil }},
		"sign-in-rate-limit": {usage: "sign-in starts (authorize requests, passkey and code prompts) one address may make per minute, at once or spread out; 0 turns the limit off",
			set: func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 1_000_000 {
					return errors.New("want a whole number from 0 to 1000000")
				}
				c.SignInRateLimit = n
				return nil
			}},
	}
	c.mailOptions(m)
	c.passwordOptions(m)
	return m
}

// listSetter adds the comma-separated items of one value to a list.
func listSetter(dst *[]string) func(string) error {
	return func(v string) error {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*dst = append(*dst, item)
			}
		}
		return nil
	}
}

func boolSetter(dst *bool) func(string) error {
	return func(v string) error {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*dst = true
		case "0", "false", "no", "off", "":
			*dst = false
		default:
			return errors.New("want true or false")
		}
		return nil
	}
}

func durationSetter(dst *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("want a duration such as 8h or 30m")
		}
		*dst = d
		return nil
	}
}

func (c Config) validate(keys []string) error {
	if c.has(keys, "addr") {
		_, port, err := net.SplitHostPort(c.Addr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return &configError{"addr", fmt.Sprintf("%q is not host:port with a port from 0 to 65535", c.Addr)}
		}
	}
	if c.has(keys, "issuer") {
		if err := validateIssuer(c.Issuer); err != nil {
			return &configError{"issuer", err.Error()}
		}
	}
	if c.has(keys, "database") {
		if _, _, err := database.ParseDSN(c.Database); err != nil {
			return &configError{"database", err.Error()}
		}
	}
	if c.has(keys, "secret-file") && c.SecretFile == "" {
		return &configError{"secret_file", "must not be empty"}
	}
	if c.has(keys, "log-format") && c.LogFormat != "auto" && c.LogFormat != "text" && c.LogFormat != "json" {
		return &configError{"log_format", "want auto, text or json"}
	}
	if c.has(keys, "log-level") {
		switch c.LogLevel {
		case "debug", "info", "warn", "error":
		default:
			return &configError{"log_level", "want debug, info, warn or error"}
		}
	}
	if c.has(keys, "session-idle") && (c.SessionIdle < time.Minute || c.SessionIdle > c.SessionAbsolute) {
		return &configError{"session_idle", "must be at least 1m and no longer than session_absolute"}
	}
	if c.has(keys, "metrics-addr") && c.MetricsAddr != "" {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
			return &configError{"metrics_addr", fmt.Sprintf("%q is not host:port with a port from 0 to 65535", c.MetricsAddr)}
		}
	}
	if err := c.validateMail(keys); err != nil {
		return err
	}
	if err := c.validatePasswords(keys); err != nil {
		return err
	}
	if c.has(keys, "rp-id") && c.RPID != "" {
		u, _ := url.Parse(c.Issuer)
		host := u.Hostname()
		// WebAuthn L3 §5.1.3 step 7: the RP ID must be the origin's host or a registrable suffix of it.
		if net.ParseIP(c.RPID) != nil || (host != c.RPID && !strings.HasSuffix(host, "."+c.RPID)) {
			return &configError{"rp_id", fmt.Sprintf("%q must be the issuer's host %q or a parent domain of it", c.RPID, host)}
		}
	}
	for _, o := range c.RPOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || u.Path != "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLocalHost(u.Hostname()))) {
			return &configError{"rp_origins", fmt.Sprintf("%q must be an https origin (scheme://host[:port], no path)", o)}
		}
	}
	if _, err := httpx.ParseTrustedProxies(c.TrustedProxies); err != nil {
		return &configError{"trusted_proxies", err.Error()}
	}
	if c.has(keys, "session-absolute") && c.SessionAbsolute > 400*24*time.Hour {
		return &configError{"session_absolute", "must be at most 400 days (browsers cap cookie lifetimes there)"}
	}
	return nil
}

// validateIssuer applies OIDC Discovery section 3: https URL with no query or fragment; plain http
// only for a localhost development instance.
func validateIssuer(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "/") || u.User != nil {
		return fmt.Errorf("%q must have no query, fragment, user info or trailing slash", raw)
	}
	if u.Path != "" {
		return fmt.Errorf("%q must not have a path (Portcullis serves from the root)", raw)
	}
	if u.Scheme == "http" && !isLocalHost(u.Hostname()) {
		return fmt.Errorf("%q must use https (plain http only for localhost)", raw)
	}
	return nil
}

func isLocalHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// isDevIssuer reports a localhost issuer: the only case where a missing secret file is generated.
func isDevIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	return err == nil && u.Scheme == "http" && isLocalHost(u.Hostname())
}
