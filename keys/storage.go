package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Storage holds the keyset document (spec: auth-and-keys.md §5.3). Load of a keyset that was
// never saved returns an empty Keyset and no error.
type Storage interface {
	Load(ctx context.Context) (Keyset, error)
	Save(ctx context.Context, ks Keyset) error
	// Backend is "file" or "secret-manager", as AUTH_KEY_STORAGE_BACKEND and the rotate output say.
	Backend() string
}

// FileStorage keeps the keyset in a JSON file (AUTH_KEY_STORAGE_PATH, default
// var/keys/keyset.json). Saves are atomic: a 0600 temp file in the same directory, fsync,
// rename; a missing directory is created 0700 (spec: auth-and-keys.md §5.3, §18.1 note 6).
type FileStorage struct {
	Path string
}

// Backend returns "file".
func (FileStorage) Backend() string { return "file" }

// Load reads the file; a missing file is an empty keyset.
func (s FileStorage) Load(ctx context.Context) (Keyset, error) {
	if err := ctx.Err(); err != nil {
		return Keyset{}, err
	}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Keyset{}, nil
	}
	if err != nil {
		return Keyset{}, s.readError(err)
	}
	ks, err := Decode(data)
	if err != nil {
		return Keyset{}, s.readError(err)
	}
	return ks, nil
}

// readError keeps the reference's prefix and says how to get out of it.
func (s FileStorage) readError(err error) error {
	return fmt.Errorf("Failed to read keyset file: %s: %w (fix the file or restore it from a backup; "+
		"if the keys are lost, move it away and run `agentplane keys rotate` to write a new keyset, "+
		"which invalidates issued tokens)", s.Path, err)
}

// Save writes the keyset atomically with mode 0600.
func (s FileStorage) Save(ctx context.Context, ks Keyset) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := ks.Encode()
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.Path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("keys: create keyset directory: %w", err)
		}
		if err := os.Chmod(dir, 0o700); err != nil { // MkdirAll is subject to the umask
			return fmt.Errorf("keys: create keyset directory: %w", err)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".*.tmp") // created 0600
	if err != nil {
		return fmt.Errorf("keys: write keyset file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	err = writeSynced(tmp, data)
	if err == nil {
		err = os.Rename(tmp.Name(), s.Path)
	}
	if err != nil {
		return fmt.Errorf("keys: write keyset file %s: %w", s.Path, err)
	}
	syncDir(dir)
	return nil
}

func writeSynced(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// syncDir makes the rename durable; platforms that cannot fsync a directory are left as they are.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// LoosePermissions reports whether the keyset file is readable or writable by group or others
// (mode broader than 0600), so the caller can warn (spec: cli-config-ops.md §11 note 4).
// A missing file is not loose.
func (s FileStorage) LoosePermissions() (bool, error) {
	fi, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keys: stat keyset file: %w", err)
	}
	return fi.Mode().Perm()&0o077 != 0, nil
}

// fileStamp identifies one version of the keyset file without reading it.
type fileStamp struct {
	info os.FileInfo // nil when the file does not exist
}

func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	// SameFile catches a rename onto the path even within one mtime tick.
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

// stamper is implemented by storages whose changes can be seen cheaply (the file backend);
// the Manager re-reads them only when the stamp changes.
type stamper interface {
	stamp() (fileStamp, error)
}

func (s FileStorage) stamp() (fileStamp, error) {
	fi, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{}, nil
	}
	if err != nil {
		return fileStamp{}, s.readError(err)
	}
	return fileStamp{info: fi}, nil
}
