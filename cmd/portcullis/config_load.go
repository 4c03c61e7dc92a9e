package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// flagValue adapts an option to flag.Value and records that the flag was given: every value of
// a repeatable flag (a list), the last one of any other.
type flagValue struct {
	o    option
	vals []string
	set  bool
}

func (f *flagValue) String() string   { return strings.Join(f.vals, ",") }
func (f *flagValue) IsBoolFlag() bool { return f.o.isBool }
func (f *flagValue) Set(v string) error {
	if f.o.reset == nil {
		f.vals = f.vals[:0]
	}
	f.vals, f.set = append(f.vals, v), true
	return nil
}

// apply sets the option from values given on the command line or in the environment.
func (o option) apply(vals ...string) error {
	if o.reset != nil {
		o.reset()
	}
	for _, v := range vals {
		if err := o.set(v); err != nil {
			return err
		}
	}
	return nil
}

// loadConfig builds the configuration for a command that uses keys, from fs's arguments, the
// environment, and the --config file.
func loadConfig(fs *flag.FlagSet, args []string, keys ...string) (Config, error) {
	cfg := Defaults()
	opts := cfg.options(keys)
	flags := make([]*flagValue, len(opts))
	for i, o := range opts {
		flags[i] = &flagValue{o: o}
		fs.Var(flags[i], o.key, o.usage+" (env PORTCULLIS_"+envName(o.key)+")")
	}
	configFile := fs.String("config", os.Getenv("PORTCULLIS_CONFIG"), "YAML configuration file (env PORTCULLIS_CONFIG)")
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		return cfg, err
	}
	if *configFile != "" {
		raw, err := os.ReadFile(*configFile)
		if err != nil {
			return cfg, &configError{"config", err.Error()}
		}
		if err := decodeYAML(raw, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, f := range flags {
		if v, ok := os.LookupEnv("PORTCULLIS_" + envName(f.o.key)); ok && !f.set {
			if err := f.o.apply(v); err != nil {
				return cfg, &configError{"PORTCULLIS_" + envName(f.o.key), err.Error()}
			}
		}
	}
	for _, f := range flags {
		if f.set {
			if err := f.o.apply(f.vals...); err != nil {
				return cfg, &configError{"--" + f.o.key, err.Error()}
			}
		}
	}
	return cfg, cfg.validate(keys)
}

// flagsFirst moves flags given after positional arguments in front of them, so that
// "users import FILE --dry-run" means what it says (the flag package stops at the first
// positional argument). Everything after "--" stays positional.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // the flag package reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	if len(positional) == 0 {
		return flags
	}
	return append(append(flags, "--"), positional...)
}

func envName(key string) string { return strings.ToUpper(strings.ReplaceAll(key, "-", "_")) }

// yamlListKeys are the YAML names of the repeatable flags: plural, as they hold lists.
var yamlListKeys = map[string]string{"rp_origins": "rp-origin", "trusted_proxies": "trusted-proxy"}

// decodeYAML reads the file strictly, through the same setters as flags and environment
// variables: an unknown key is an error, not a silent typo, and a bad value names its key.
func decodeYAML(raw []byte, cfg *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return &configError{"config", strings.ReplaceAll(err.Error(), "\n", "; ")}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return &configError{"config", "the file must be a mapping of keys to values"}
	}
	all := cfg.allOptions()
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i].Value, m.Content[i+1]
		name := strings.ReplaceAll(key, "_", "-")
		if flag, ok := yamlListKeys[key]; ok {
			name = flag
		}
		o, ok := all[name]
		if !ok || strings.Contains(key, "-") {
			return &configError{key, fmt.Sprintf("unknown key in %s (line %d)", "the config file", m.Content[i].Line)}
		}
		var values []string
		switch val.Kind {
		case yaml.ScalarNode:
			values = []string{val.Value}
		case yaml.SequenceNode:
			for _, item := range val.Content {
				if item.Kind != yaml.ScalarNode {
					return &configError{key, "list items must be plain values"}
				}
				values = append(values, item.Value)
			}
		default:
			return &configError{key, "must be a value or a list of values"}
		}
		for _, v := range values {
			if err := o.set(v); err != nil {
				return &configError{key, err.Error()}
			}
		}
	}
	return nil
}

func (c Config) has(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
