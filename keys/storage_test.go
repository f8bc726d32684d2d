package keys_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"agentplane/keys"
)

func TestFileStorageMissingIsEmpty(t *testing.T) {
	st := keys.FileStorage{Path: filepath.Join(t.TempDir(), "var", "keys", "keyset.json")}
	ks, err := st.Load(t.Context())
	if err != nil || ks.Active != nil || ks.Next != nil || len(ks.Retired) != 0 {
		t.Fatalf("Load = %+v, %v; want empty keyset", ks, err)
	}
	if loose, err := st.LoosePermissions(); loose || err != nil {
		t.Errorf("LoosePermissions of a missing file = %v, %v", loose, err)
	}
	if st.Backend() != "file" {
		t.Errorf("Backend = %q", st.Backend())
	}
}

func TestFileStorageSaveModes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "var", "keys")
	st := keys.FileStorage{Path: filepath.Join(dir, "keyset.json")}
	k, err := keys.Generate("", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(t.Context(), keys.Keyset{Active: &k}); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, st.Path, 0o600)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the keyset (no temp files left)", len(entries))
	}
	back, err := st.Load(t.Context())
	if err != nil || back.Active == nil || back.Active.KID != k.KID || !back.Active.PrivateKey.Equal(k.PrivateKey) {
		t.Fatalf("Load after Save = %+v, %v", back, err)
	}
	if loose, err := st.LoosePermissions(); loose || err != nil {
		t.Errorf("LoosePermissions = %v, %v; want false", loose, err)
	}

	// An existing file with a broad mode is reported, and the next save tightens it.
	if err := os.Chmod(st.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if loose, err := st.LoosePermissions(); !loose || err != nil {
		t.Errorf("LoosePermissions on 0644 = %v, %v; want true", loose, err)
	}
	if err := st.Save(t.Context(), keys.Keyset{Active: &k}); err != nil {
		t.Fatal(err)
	}
	assertMode(t, st.Path, 0o600)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s mode = %o, want %o", path, got, want)
	}
}

func TestFileStorageCorrupt(t *testing.T) {
	tests := []struct{ name, content string }{
		{"truncated json", `{"schema_version": 1, "active": {"kid": `},
		{"empty file", ``},
		{"key without created_at", `{"schema_version": 1, "active": {"kid": "k", "public_jwk": {}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "keyset.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := keys.FileStorage{Path: path}.Load(t.Context())
			if err == nil {
				t.Fatal("Load of a corrupt file succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "Failed to read keyset file: ") || !strings.Contains(msg, path) ||
				!strings.Contains(msg, "agentplane keys rotate") {
				t.Errorf("error %q lacks the reference prefix, the path or the way out", msg)
			}
			if !errors.Is(err, keys.ErrInvalidKeyset) {
				t.Errorf("error %v does not wrap ErrInvalidKeyset", err)
			}
		})
	}
}

func TestFileStorageUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory where the file should be: reading fails, not "missing"
	_, err := keys.FileStorage{Path: dir}.Load(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "Failed to read keyset file: ") {
		t.Errorf("Load of a directory = %v", err)
	}
}
