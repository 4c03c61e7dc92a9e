package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// opsClearConfigEnv removes every PORTCULLIS_* configuration variable for the duration of the
// test (t.Setenv restores the previous values afterwards).
func opsClearConfigEnv(t *testing.T) {
	t.Helper()
	for _, k := range append([]string{"config"}, serveKeys...) {
		name := "PORTCULLIS_" + envName(k)
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}

// opsLoadConfig runs loadConfig for the serve keys with a fresh flag set.
func opsLoadConfig(args []string, keys ...string) (Config, error) {
	if len(keys) == 0 {
		keys = serveKeys
	}
	return loadConfig(newFlagSet("test", io.Discard), args, keys...)
}

// opsWriteFile writes content to a new file in the test's temp dir and returns its path.
func opsWriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigDefaults(t *testing.T) {
	opsClearConfigEnv(t)
	d := Defaults()
	for _, tc := range []struct{ name, got, want string }{
		{"addr", d.Addr, "127.0.0.1:8080"},
		{"issuer", d.Issuer, "http://localhost:8080"},
		{"database", d.Database, "sqlite:portcullis.db"},
		{"secret-file", d.SecretFile, "portcullis.secret"},
		{"log-format", d.LogFormat, "auto"},
		{"log-level", d.LogLevel, "info"},
		{"session-idle", d.SessionIdle.String(), (8 * time.Hour).String()},
		{"session-absolute", d.SessionAbsolute.String(), (30 * 24 * time.Hour).String()},
		{"no-migrate", fmt.Sprint(d.NoMigrate), "false"},
	} {
		if tc.got != tc.want {
			t.Errorf("default %s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	// With no flag, environment or file, every command gets exactly the defaults, and they are valid.
	for _, keys := range [][]string{serveKeys, dbKeys, {"database", "log-format", "log-level"}} {
		cfg, err := opsLoadConfig(nil, keys...)
		if err != nil {
			t.Fatalf("loadConfig(%v) with nothing set: %v", keys, err)
		}
		if !reflect.DeepEqual(cfg, d) {
			t.Fatalf("loadConfig(%v) with nothing set = %+v, want the defaults %+v", keys, cfg, d)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	type key struct {
		flag             string // flag name; env and YAML names derive from it
		yaml, env, flagV string // the value each source gives
		def              string // the default, as get reports it
		get              func(Config) string
	}
	keys := []key{
		{"addr", "10.0.0.1:1001", "10.0.0.2:1002", "10.0.0.3:1003", "127.0.0.1:8080", func(c Config) string { return c.Addr }},
		{"issuer", "https://yaml.example.com", "https://env.example.com", "https://flag.example.com", "http://localhost:8080", func(c Config) string { return c.Issuer }},
		{"database", "sqlite:yaml.db", "sqlite:env.db", "postgres://flag.example.com/db", "sqlite:portcullis.db", func(c Config) string { return c.Database }},
		{"secret-file", "yaml.secret", "env.secret", "flag.secret", "portcullis.secret", func(c Config) string { return c.SecretFile }},
		{"log-format", "text", "json", "auto", "auto", func(c Config) string { return c.LogFormat }},
		{"log-level", "debug", "warn", "error", "info", func(c Config) string { return c.LogLevel }},
		{"session-idle", "1h", "2h", "3h", "8h0m0s", func(c Config) string { return c.SessionIdle.String() }},
		{"session-absolute", "100h", "200h", "300h", "720h0m0s", func(c Config) string { return c.SessionAbsolute.String() }},
		{"no-migrate", "true", "false", "true", "false", func(c Config) string { return fmt.Sprint(c.NoMigrate) }},
	}
	canon := func(k key, v string) string { // what get reports for a source value
		if d, err := time.ParseDuration(v); err == nil && strings.HasPrefix(k.flag, "session-") {
			return d.String()
		}
		return v
	}
	combos := []struct{ yaml, env, flag bool }{
		{false, false, false}, {true, false, false}, {false, true, false}, {false, false, true},
		{true, true, false}, {true, false, true}, {false, true, true}, {true, true, true},
	}
	for _, k := range keys {
		for _, c := range combos {
			name := fmt.Sprintf("%s/yaml=%t,env=%t,flag=%t", k.flag, c.yaml, c.env, c.flag)
			t.Run(name, func(t *testing.T) {
				opsClearConfigEnv(t)
				var args []string
				want := k.def
				if c.yaml {
					p := opsWriteFile(t, "portcullis.yaml", fmt.Sprintf("%s: %s\n", strings.ReplaceAll(k.flag, "-", "_"), k.yaml))
					args = append(args, "--config", p)
					want = canon(k, k.yaml)
				}
				if c.env {
					t.Setenv("PORTCULLIS_"+envName(k.flag), k.env)
					want = canon(k, k.env)
				}
				if c.flag {
					args = append(args, "--"+k.flag+"="+k.flagV)
					want = canon(k, k.flagV)
				}
				cfg, err := opsLoadConfig(args)
				if err != nil {
					t.Fatalf("loadConfig(%v): %v", args, err)
				}
				if got := k.get(cfg); got != want {
					t.Fatalf("%s = %q, want %q", k.flag, got, want)
				}
			})
		}
	}

	t.Run("flag overrides an invalid environment value", func(t *testing.T) {
		opsClearConfigEnv(t)
		t.Setenv("PORTCULLIS_SESSION_IDLE", "not-a-duration")
		cfg, err := opsLoadConfig([]string{"--session-idle", "2h"})
		if err != nil {
			t.Fatalf("loadConfig: %v", err)
		}
		if cfg.SessionIdle != 2*time.Hour {
			t.Fatalf("session-idle = %s, want 2h", cfg.SessionIdle)
		}
	})

	t.Run("config file from PORTCULLIS_CONFIG, --config wins", func(t *testing.T) {
		opsClearConfigEnv(t)
		envFile := opsWriteFile(t, "env.yaml", "addr: 10.0.0.1:1001\nlog_level: debug\n")
		flagFile := opsWriteFile(t, "flag.yaml", "addr: 10.0.0.3:1003\n")
		t.Setenv("PORTCULLIS_CONFIG", envFile)
		cfg, err := opsLoadConfig(nil)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "10.0.0.1:1001" || cfg.LogLevel != "debug" {
			t.Fatalf("with PORTCULLIS_CONFIG: addr %q log_level %q, want 10.0.0.1:1001 and debug", cfg.Addr, cfg.LogLevel)
		}
		cfg, err = opsLoadConfig([]string{"--config", flagFile})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != "10.0.0.3:1003" || cfg.LogLevel != "info" {
			t.Fatalf("with --config: addr %q log_level %q, want 10.0.0.3:1003 and info (the env file is not read)", cfg.Addr, cfg.LogLevel)
		}
	})

	t.Run("empty config file", func(t *testing.T) {
		opsClearConfigEnv(t)
		cfg, err := opsLoadConfig([]string{"--config", opsWriteFile(t, "empty.yaml", "")})
		if err != nil {
			t.Fatalf("empty config file: %v", err)
		}
		if !reflect.DeepEqual(cfg, Defaults()) {
			t.Fatalf("empty config file gave %+v, want the defaults", cfg)
		}
	})
}

func TestConfigUnknownYAMLKey(t *testing.T) {
	for _, tc := range []struct{ name, yaml, unknown string }{
		{"typo", "adress: 127.0.0.1:9000\n", "adress"},
		{"among valid keys", "addr: 127.0.0.1:9000\nissuer: https://id.example.com\nsecret: hunter2\n", "secret"},
		{"flag spelling", "log-level: debug\n", "log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opsClearConfigEnv(t)
			_, err := opsLoadConfig([]string{"--config", opsWriteFile(t, "portcullis.yaml", tc.yaml)})
			if err == nil {
				t.Fatalf("unknown key %q accepted", tc.unknown)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.unknown) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line naming %q", msg, tc.unknown)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		opsClearConfigEnv(t)
		p := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := opsLoadConfig([]string{"--config", p})
		if err == nil || !strings.Contains(err.Error(), "config") || !strings.Contains(err.Error(), p) {
			t.Fatalf("missing config file: error %v, want one naming config and %s", err, p)
		}
	})
}

// Every invalid value, whichever source it comes from, gives a one-line error naming the key.
func TestConfigInvalidValues(t *testing.T) {
	for _, tc := range []struct {
		key, value string
	}{
		{"issuer", "http://id.example.com"},           // plain http on a public host
		{"issuer", "https://id.example.com/oidc"},     // a path
		{"issuer", "https://id.example.com?tenant=1"}, // a query
		{"issuer", "https://id.example.com/"},         // a trailing slash
		{"issuer", "https://id.example.com#frag"},     // a fragment
		{"issuer", "id.example.com"},                  // not absolute
		{"database", "mysql://x"},
		{"database", "sqlite::memory:"},
		{"addr", "nope"},
		{"addr", "127.0.0.1:99999"}, // no such port
		{"log-format", "xml"},
		{"log-level", "verbose"},
		{"session-idle", "5s"},
		{"session-idle", "soon"},
		{"session-absolute", "9999h"},
		{"no-migrate", "maybe"},
		{"secret-file", ""},
		{"sign-in-rate-limit", "-1"},
		{"sign-in-rate-limit", "lots"},
	} {
		snake := strings.ReplaceAll(tc.key, "-", "_")
		names := []string{tc.key, snake, "PORTCULLIS_" + envName(tc.key)}
		for _, source := range []string{"flag", "env", "yaml"} {
			t.Run(fmt.Sprintf("%s=%s/%s", tc.key, tc.value, source), func(t *testing.T) {
				opsClearConfigEnv(t)
				var args []string
				switch source {
				case "flag":
					args = []string{"--" + tc.key + "=" + tc.value}
				case "env":
					t.Setenv("PORTCULLIS_"+envName(tc.key), tc.value)
				case "yaml":
					args = []string{"--config", opsWriteFile(t, "portcullis.yaml", fmt.Sprintf("%s: %q\n", snake, tc.value))}
				}
				_, err := opsLoadConfig(args)
				if err == nil {
					t.Fatalf("%s %q accepted", tc.key, tc.value)
				}
				msg := err.Error()
				if strings.Contains(msg, "\n") {
					t.Errorf("error is not one line: %q", msg)
				}
				named := false
				for _, n := range names {
					named = named || strings.Contains(msg, n)
				}
				if !named {
					t.Errorf("error %q does not name the key (%s)", msg, strings.Join(names, ", "))
				}
			})
		}
	}
}

// The CLI commands validate their configuration before touching anything: no database file is
// created and no secret is generated for a rejected configuration.
func TestConfigServeRejectsBeforeOpening(t *testing.T) {
	opsClearConfigEnv(t)
	dir := t.TempDir()
	dbPath, secretPath := filepath.Join(dir, "p.db"), filepath.Join(dir, "p.secret")
	for _, tc := range []struct {
		name string
		args []string
		key  string
	}{
		{"serve log-format", []string{"serve", "--log-format", "xml"}, "log_format"},
		{"serve session-idle", []string{"serve", "--session-idle", "5s"}, "session_idle"},
		{"clients issuer", []string{"clients", "list", "--issuer", "http://id.example.com"}, "issuer"},
		{"keys issuer with a path", []string{"keys", "list", "--issuer", "https://id.example.com/x"}, "issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(slices.Clone(tc.args), "--database", "sqlite:"+dbPath, "--secret-file", secretPath)
			if tc.args[0] == "serve" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			_, _, err := opsRun(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("run %v: error %v, want one naming %s", args, err, tc.key)
			}
			for _, p := range []string{dbPath, secretPath} {
				if _, err := os.Stat(p); err == nil {
					t.Fatalf("%s was created for a rejected configuration", p)
				}
			}
		})
	}
}

// The repeatable options (rp-origin, trusted-proxy) take every occurrence of their flag, or the
// comma-separated items of their environment variable, and either replaces the file's list as a
// flag replaces any value; an entry that is not an address or a range is refused.
func TestConfigLists(t *testing.T) {
	yaml := opsWriteFile(t, "portcullis.yaml", "issuer: https://id.example.com\nrp_origins: [\"https://file.example.com\"]\n"+
		"trusted_proxies: [\"10.9.9.9\"]\n")
	for _, tc := range []struct {
		name             string
		args             []string
		env              map[string]string
		origins, proxies []string
	}{
		{"file", []string{"--config", yaml}, nil, []string{"https://file.example.com"}, []string{"10.9.9.9"}},
		{"flags repeated", []string{"--config", yaml, "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.7, fd00::/8",
			"--rp-origin", "https://a.example.com", "--rp-origin", "https://b.example.com"}, nil,
			[]string{"https://a.example.com", "https://b.example.com"}, []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}},
		{"environment", []string{"--config", yaml}, map[string]string{"PORTCULLIS_TRUSTED_PROXY": "10.0.0.0/8,192.0.2.7",
			"PORTCULLIS_RP_ORIGIN": "https://env.example.com"}, []string{"https://env.example.com"}, []string{"10.0.0.0/8", "192.0.2.7"}},
		{"flag over environment", []string{"--config", yaml, "--trusted-proxy", "192.0.2.8"},
			map[string]string{"PORTCULLIS_TRUSTED_PROXY": "10.0.0.0/8"}, []string{"https://file.example.com"}, []string{"192.0.2.8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opsClearConfigEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg, err := opsLoadConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.RPOrigins, tc.origins) || !slices.Equal(cfg.TrustedProxies, tc.proxies) {
				t.Fatalf("rp origins %q, trusted proxies %q; want %q and %q", cfg.RPOrigins, cfg.TrustedProxies, tc.origins, tc.proxies)
			}
		})
	}
	t.Run("not an address", func(t *testing.T) {
		opsClearConfigEnv(t)
		_, err := opsLoadConfig([]string{"--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "proxy.internal"})
		if err == nil || err.Error() != `invalid configuration: trusted_proxies: "proxy.internal" is not an address or a CIDR range` {
			t.Fatalf("got %v", err)
		}
	})
}
