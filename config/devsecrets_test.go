package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestEnsureDevSecrets(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "var", "dev-secrets.env")

	created, err := EnsureDevSecrets(path)
	if err != nil || !created {
		t.Fatalf("first EnsureDevSecrets = %v, %v; want created", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("file mode = %o, want 600", perm)
	}
	if dinfo, _ := os.Stat(filepath.Dir(path)); dinfo.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %o, want 700", dinfo.Mode().Perm())
	}
	first, err := readEnvFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != len(devSecretNames) {
		t.Errorf("file holds %d values, want %d", len(first), len(devSecretNames))
	}
	seen := map[string]bool{}
	for _, name := range devSecretNames {
		raw, err := base64.RawURLEncoding.DecodeString(first[name])
		if err != nil || len(raw) != 32 {
			t.Errorf("%s = %q is not 32 base64url bytes", name, first[name])
		}
		if seen[first[name]] {
			t.Errorf("%s repeats another value", name)
		}
		seen[first[name]] = true
	}
	if _, ok := first["AUTH_KEY_STORAGE_PATH"]; ok {
		t.Error("the key storage path must not be generated")
	}

	created, err = EnsureDevSecrets(path)
	if err != nil || created {
		t.Fatalf("second EnsureDevSecrets = %v, %v; want kept", created, err)
	}
	second, _ := readEnvFile(path)
	if !reflect.DeepEqual(first, second) {
		t.Error("values changed on the second call")
	}

	// Lowest priority: a real setting wins, and the dev values silence the guard in development.
	lookup, _, err := Sources{Dir: t.TempDir(), Environ: env(map[string]string{"SECRET_KEY": "real"}), Fallbacks: []string{path}}.Lookup()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if s.SecretKey.Reveal() != "real" || s.AuthPasswordPepper.Reveal() != first["AUTH_PASSWORD_PEPPER"] {
		t.Error("dev secrets do not sit below the real settings")
	}
	if w := s.SecretWarnings(); len(w) != 1 || !strings.HasPrefix(w[0], "AUTH_KEY_STORAGE_PATH") {
		t.Errorf("warnings with dev secrets = %q, want only the key path", w)
	}
}

func TestEnsureDevSecretsAddsMissing(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "dev.env", "SECRET_KEY=keep-me\n")
	created, err := EnsureDevSecrets(path)
	if err != nil || !created {
		t.Fatalf("EnsureDevSecrets = %v, %v", created, err)
	}
	got, _ := readEnvFile(path)
	if got["SECRET_KEY"] != "keep-me" || got["STATUS_SUBSCRIPTION_TOKEN_PEPPER"] == "" {
		t.Errorf("file = %v", got)
	}
}

func TestEnsureDevSecretsMalformed(t *testing.T) {
	t.Parallel()
	path := writeFile(t, t.TempDir(), "dev.env", "BAD-NAME=1\n")
	if _, err := EnsureDevSecrets(path); err == nil {
		t.Error("a malformed file was overwritten")
	}
}
