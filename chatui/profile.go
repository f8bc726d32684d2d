package chatui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Profiles are the sessions saved after an interactive login, one per API
// URL, in a JSON file only its owner can read (mode 0600).
type Profiles struct {
	Path string
}

// Profile is one saved login.
type Profile struct {
	Email string `json:"email,omitempty"`
	Session
}

// Get returns the profile saved for baseURL.
func (p Profiles) Get(baseURL string) (Profile, bool, error) {
	all, err := p.read()
	if err != nil {
		return Profile{}, false, err
	}
	pr, ok := all[baseURL]
	return pr, ok && pr.AccessToken != "", nil
}

// Put saves the profile of baseURL, keeping the others.
func (p Profiles) Put(baseURL string, pr Profile) error {
	all, err := p.read()
	if err != nil {
		return err
	}
	all[baseURL] = pr
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
		return fmt.Errorf("save login: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.Path), ".profiles-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("save login: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save login: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save login: %w", err)
	}
	if err := os.Rename(tmp.Name(), p.Path); err != nil {
		return fmt.Errorf("save login: %w", err)
	}
	return nil
}

func (p Profiles) read() (map[string]Profile, error) {
	all := map[string]Profile{}
	b, err := os.ReadFile(p.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saved logins: %w", err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("read saved logins %s: %w; delete the file to log in again", p.Path, err)
	}
	return all, nil
}
