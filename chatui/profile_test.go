package chatui

import (
	"os"
	"path/filepath"
	"testing"
)

func TestProfiles(t *testing.T) {
	t.Parallel()
	p := Profiles{Path: filepath.Join(t.TempDir(), "agentplane", "profiles.json")}
	if _, ok, err := p.Get("http://a"); ok || err != nil {
		t.Fatalf("empty Get = %v, %v", ok, err)
	}
	a := Profile{Email: "a@example.com", Session: Session{AccessToken: "at", RefreshToken: "rt"}}
	b := Profile{Email: "b@example.com", Session: Session{AccessToken: "bt"}}
	if err := p.Put("http://a", a); err != nil {
		t.Fatal(err)
	}
	if err := p.Put("http://b", b); err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]Profile{"http://a": a, "http://b": b} {
		if got, ok, err := p.Get(url); !ok || err != nil || got != want {
			t.Errorf("Get(%s) = %+v, %v, %v", url, got, ok, err)
		}
	}
	fi, err := os.Stat(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(p.Path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Get("http://a"); err == nil {
		t.Error("a corrupt file reads without error")
	}
}
