package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// providerFlags are the flags of `auth enable` that change a provider's
// settings and secrets. Values may hold commas, so each flag is one value.
type providerFlags struct {
	set, setFiles, unset    []string
	secrets, secretFiles    []string
	settings, secretValues  map[string]string // parsed
	settingKeys, secretKeys map[string]string // key -> the flag that gave it
}

func (p *providerFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&p.set, "set", nil, "a setting `KEY=VALUE`, merged onto the current settings (repeat for more)")
	f.StringArrayVar(&p.setFiles, "set-file", nil, "a setting `KEY=PATH` whose value is the file's content, such as a PEM certificate")
	f.StringArrayVar(&p.unset, "unset", nil, "a setting `KEY` to remove")
	f.StringArrayVar(&p.secrets, "secret", nil, "a secret `KEY` whose value is the next line of stdin, or is prompted for on a terminal (repeat for more)")
	f.StringArrayVar(&p.secretFiles, "secret-file", nil, "a secret `KEY=PATH` whose value is the file's content (an empty file removes the secret)")
}

// changesSettings reports whether the flags change settings, which are
// then merged onto the current ones.
func (p *providerFlags) changesSettings() bool {
	return len(p.set)+len(p.setFiles)+len(p.unset) > 0
}

// parseProviderFlags reads the flags, their files and the secrets on stdin, before any
// request: a mistake costs nothing.
func (a *app) parseProviderFlags(p *providerFlags) error {
	p.settings, p.secretValues = map[string]string{}, map[string]string{}
	p.settingKeys, p.secretKeys = map[string]string{}, map[string]string{}
	for _, kv := range p.set {
		k, v, err := p.pair("--set", kv, "KEY=VALUE, such as --set clientID=herd", p.settingKeys)
		if err != nil {
			return err
		}
		p.settings[k] = v
	}
	for _, kv := range p.setFiles {
		k, path, err := p.pair("--set-file", kv, "KEY=PATH, such as --set-file certificate=ca.pem", p.settingKeys)
		if err != nil {
			return err
		}
		if p.settings[k], err = readValueFile("--set-file", k, path); err != nil {
			return err
		}
	}
	for _, k := range p.unset {
		if err := p.claim("--unset", k, p.settingKeys); err != nil {
			return err
		}
	}
	for _, kv := range p.secretFiles {
		k, path, err := p.pair("--secret-file", kv, "KEY=PATH, such as --secret-file clientSecret=secret.txt", p.secretKeys)
		if err != nil {
			return err
		}
		if p.secretValues[k], err = readValueFile("--secret-file", k, path); err != nil {
			return err
		}
	}
	for _, k := range p.secrets {
		if err := p.claim("--secret", k, p.secretKeys); err != nil {
			return err
		}
		terminal := a.isTerminal != nil && a.isTerminal()
		v, err := a.readSecret(!terminal, "value of secret "+k, false)
		if err != nil {
			return fmt.Errorf("%w: give the values of the --secret flags on stdin, one a line, in the order of the flags, or use --secret-file %s=PATH", err, k)
		}
		p.secretValues[k] = v
	}
	return nil
}

// pair splits a KEY=VALUE flag value and claims its key; want says what
// the flag takes.
func (p *providerFlags) pair(flag, kv, want string, seen map[string]string) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%s %q: give %s", flag, kv, want)
	}
	return k, v, p.claim(flag, k, seen)
}

// claim refuses a key that an earlier flag named.
func (p *providerFlags) claim(flag, key string, seen map[string]string) error {
	if key == "" || strings.ContainsAny(key, "= \t\n") {
		return fmt.Errorf("%s %q: a key is a name such as clientID", flag, key)
	}
	if prev, ok := seen[key]; ok {
		return fmt.Errorf("%s %s: %s names %s already: give each key once", flag, key, prev, key)
	}
	seen[key] = flag
	return nil
}

// readValueFile reads a setting's or secret's value from a file, without
// the line ending at its end.
func readValueFile(flag, key, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s %s=%s: %w", flag, key, path, err)
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
}
