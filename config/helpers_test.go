package config

import (
	"os"
	"path/filepath"
	"testing"
)

// env turns a map into a lookup, as the process environment would answer.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// mustLoad loads settings from m and fails the test on any error.
func mustLoad(t *testing.T, m map[string]string) Settings {
	t.Helper()
	s, err := Load(env(m))
	if err != nil {
		t.Fatalf("Load(%v): %v", m, err)
	}
	return s
}

// writeFile writes an env file into dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
