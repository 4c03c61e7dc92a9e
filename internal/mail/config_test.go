package mail

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Host: "smtp.example.com", From: "Portcullis <no-reply@example.com>", Username: "mailer", Password: "hunter2-secret"}
	cases := []struct {
		name string
		edit func(*Config)
		want string // "" means valid; otherwise the key the message must name
	}{
		{"no SMTP at all", func(c *Config) { *c = Config{} }, ""},
		{"full", func(c *Config) {}, ""},
		{"implicit TLS", func(c *Config) { c.TLS = "tls"; c.Port = 465 }, ""},
		{"none on localhost", func(c *Config) { c.Host = "localhost"; c.TLS = "none" }, ""},
		{"none on ::1", func(c *Config) { c.Host = "::1"; c.TLS = "none" }, ""},
		{"no auth", func(c *Config) { c.Username, c.Password = "", "" }, ""},
		{"none on a remote host", func(c *Config) { c.TLS = "none" }, "smtp-tls"},
		{"none on a private address", func(c *Config) { c.Host = "10.0.0.5"; c.TLS = "none" }, "smtp-tls"},
		{"unknown tls", func(c *Config) { c.TLS = "ssl" }, "smtp-tls"},
		{"host with port", func(c *Config) { c.Host = "smtp.example.com:587" }, "smtp-host"},
		{"host with space", func(c *Config) { c.Host = "smtp example.com" }, "smtp-host"},
		{"port too high", func(c *Config) { c.Port = 70000 }, "smtp-port"},
		{"negative port", func(c *Config) { c.Port = -1 }, "smtp-port"},
		{"username without password", func(c *Config) { c.Password = "" }, "smtp-password"},
		{"password without username", func(c *Config) { c.Username = "" }, "smtp-username"},
		{"NUL in password", func(c *Config) { c.Password = "a\x00b" }, "smtp-password"},
		{"credentials without host", func(c *Config) { c.Host = "" }, "smtp-username"},
		{"missing from", func(c *Config) { c.From = "" }, "smtp-from"},
		{"bad from", func(c *Config) { c.From = "Portcullis" }, "smtp-from"},
		{"two froms", func(c *Config) { c.From = "a@example.com, b@example.com" }, "smtp-from"},
		{"from with line break", func(c *Config) { c.From = "a@example.com\r\nBcc: e@example.com" }, "smtp-from"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "smtp-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want+" ") {
				t.Fatalf("Validate = %v, want a message starting with %q", err, tc.want)
			}
			if c.Password != "" && strings.Contains(err.Error(), c.Password) {
				t.Errorf("message reveals the password: %v", err)
			}
			if _, err := New(c, nil); err == nil {
				t.Error("New accepted a config that Validate refuses")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for tls, port := range map[string]int{"": 587, "starttls": 587, "tls": 465, "none": 25} {
		c := Config{Host: "localhost", TLS: tls, From: "a@example.com"}.withDefaults()
		if c.Port != port || c.Timeout != DefaultTimeout || c.LocalName == "" {
			t.Errorf("TLS %q: port %d timeout %s local name %q", tls, c.Port, c.Timeout, c.LocalName)
		}
		if tls == "" && c.TLS != TLSStartTLS {
			t.Errorf("default TLS = %q", c.TLS)
		}
	}
}
