package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSourcePrecedence checks flag > process env > .env.local > --env-file (last wins) > .env >
// .env.compose > fallbacks, one variable per rank.
func TestSourcePrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, ".env.compose", "A=compose\nB=compose\nC=compose\nD=compose\nE=compose\nF=compose\nG=compose\n")
	writeFile(t, dir, ".env", "A=env\nB=env\nC=env\nD=env\nE=env\nF=env\n")
	first := writeFile(t, dir, "extra/first.env", "A=first\nB=first\nC=first\nD=first\nE=first\n")
	second := writeFile(t, dir, "extra/second.env", "A=second\nB=second\nC=second\nD=second\n")
	writeFile(t, dir, ".env.local", "A=local\nB=local\nC=local\n")
	fallback := writeFile(t, dir, "var/dev-secrets.env", "A=fallback\nH=fallback\n")

	lookup, loaded, err := Sources{
		Dir:       dir,
		EnvFiles:  []string{first, second},
		Environ:   env(map[string]string{"A": "environ", "B": "environ"}),
		Flags:     map[string]string{"A": "flag"},
		Fallbacks: []string{fallback},
	}.Lookup()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"A": "flag", "B": "environ", "C": "local", "D": "second", "E": "first", "F": "env", "G": "compose", "H": "fallback",
	}
	for k, w := range want {
		if got, ok := lookup(k); !ok || got != w {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, w)
		}
	}
	if _, ok := lookup("MISSING"); ok {
		t.Error("MISSING found")
	}
	wantLoaded := []string{fallback, filepath.Join(dir, ".env.compose"), filepath.Join(dir, ".env"), first, second, filepath.Join(dir, ".env.local")}
	if !reflect.DeepEqual(loaded, wantLoaded) {
		t.Errorf("loaded =\n%q\nwant\n%q", loaded, wantLoaded)
	}
}

func TestSourcesEmptyFallsThrough(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, ".env", "OPENAI_API_KEY=sk-from-file\nSIGNUP_DEFAULT_PLAN_CODE=\n")
	lookup, _, err := Sources{
		Dir:     dir,
		Environ: env(map[string]string{"OPENAI_API_KEY": "", "SIGNUP_DEFAULT_PLAN_CODE": ""}),
	}.Lookup()
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := lookup("OPENAI_API_KEY"); v != "sk-from-file" || !ok {
		t.Errorf("OPENAI_API_KEY = %q, %v; an empty env value must not hide the file's", v, ok)
	}
	if v, ok := lookup("SIGNUP_DEFAULT_PLAN_CODE"); v != "" || !ok {
		t.Errorf("SIGNUP_DEFAULT_PLAN_CODE = %q, %v; want set to empty", v, ok)
	}
	s, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenAIAPIKey.Reveal() != "sk-from-file" || s.SignupDefaultPlanCode != "" {
		t.Errorf("loaded %q, %q", s.OpenAIAPIKey.Reveal(), s.SignupDefaultPlanCode)
	}
}

func TestSkipEnv(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		skip    bool
		environ map[string]string
		skipped bool
	}{
		{"flag", true, nil, true},
		{"STARTER_CLI_SKIP_ENV=1", false, map[string]string{"STARTER_CLI_SKIP_ENV": "1"}, true},
		{"STARTER_CLI_SKIP_ENV=TRUE", false, map[string]string{"STARTER_CLI_SKIP_ENV": "TRUE"}, true},
		{"STARTER_CLI_SKIP_ENV=yes", false, map[string]string{"STARTER_CLI_SKIP_ENV": "yes"}, true},
		{"STARTER_CLI_SKIP_ENV=on is not skip", false, map[string]string{"STARTER_CLI_SKIP_ENV": "on"}, false},
		{"no skip", false, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, ".env", "A=env\n")
			writeFile(t, dir, ".env.local", "B=local\n")
			writeFile(t, dir, ".env.compose", "C=compose\n")
			custom := writeFile(t, dir, "custom.env", "D=custom\n")
			lookup, loaded, err := Sources{Dir: dir, EnvFiles: []string{custom}, SkipEnv: c.skip, Environ: env(c.environ)}.Lookup()
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := lookup("D"); v != "custom" {
				t.Errorf("--env-file not loaded: D = %q", v)
			}
			for _, k := range []string{"A", "B", "C"} {
				if _, ok := lookup(k); ok == c.skipped {
					t.Errorf("%s found = %v with skip = %v", k, ok, c.skipped)
				}
			}
			if c.skipped && !reflect.DeepEqual(loaded, []string{custom}) {
				t.Errorf("loaded = %q", loaded)
			}
		})
	}
}

func TestSourceFileErrors(t *testing.T) {
	t.Parallel()
	t.Run("missing defaults are skipped", func(t *testing.T) {
		t.Parallel()
		lookup, loaded, err := Sources{Dir: t.TempDir()}.Lookup()
		if err != nil || len(loaded) != 0 {
			t.Fatalf("Lookup() = %q, %v", loaded, err)
		}
		if _, ok := lookup("PORT"); ok {
			t.Error("PORT found")
		}
	})
	t.Run("missing --env-file", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "nope.env")
		_, _, err := Sources{Dir: t.TempDir(), EnvFiles: []string{missing}}.Lookup()
		if !errors.Is(err, ErrEnvFile) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("error = %v, want a not-found error naming %s", err, missing)
		}
	})
	t.Run("--env-file naming a missing default file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		_, _, err := Sources{Dir: dir, EnvFiles: []string{filepath.Join(dir, ".env")}}.Lookup()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want not found", err)
		}
	})
	t.Run("missing fallback", func(t *testing.T) {
		t.Parallel()
		_, _, err := Sources{Dir: t.TempDir(), Fallbacks: []string{filepath.Join(t.TempDir(), "x.env")}}.Lookup()
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error = %v, want not found", err)
		}
	})
	for _, c := range []struct{ name, content, want string }{
		{"bad name", "GOOD=1\nOTHER=2\nBAD-NAME=hunter2\n", "line 3: unexpected character"},
		{"unterminated quote", "GOOD=1\nKEY=\"hunter2\nMORE=x\n", "line 2: unterminated quoted value"},
	} {
		t.Run("malformed "+c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := writeFile(t, dir, ".env", c.content)
			_, _, err := Sources{Dir: dir}.Lookup()
			if !errors.Is(err, ErrEnvFile) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want it to name %s and say %q", err, path, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the file: %v", err)
			}
		})
	}
}

func TestDuplicateEnvFileKeepsDefaultRank(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	compose := writeFile(t, dir, ".env.compose", "A=compose\n")
	custom := writeFile(t, dir, "custom.env", "A=custom\n")
	writeFile(t, dir, ".env", "A=env\n")
	// .env.compose named again stays lowest: it does not beat .env.
	lookup, loaded, err := Sources{Dir: dir, EnvFiles: []string{compose, custom, custom}}.Lookup()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup("A"); v != "custom" {
		t.Errorf("A = %q, want custom", v)
	}
	if len(loaded) != 3 {
		t.Errorf("loaded = %q, want each file once", loaded)
	}
}

func TestExpandHome(t *testing.T) {
	t.Parallel()
	home := filepath.FromSlash("/home/op")
	cases := map[string]string{
		"~":                   home,
		"~/prod.env":          filepath.Join(home, "prod.env"),
		"~other/x.env":        "~other/x.env",
		"/etc/agentplane.env": "/etc/agentplane.env",
		"rel/x.env":           "rel/x.env",
	}
	for in, want := range cases {
		if got := expandHome(in, home); got != want {
			t.Errorf("expandHome(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourcesFeedLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, ".env.local", "PORT=9001\nDEBUG=yes\n# a comment\nexport APP_NAME='quoted name'\n")
	lookup, _, err := Sources{Dir: dir, Flags: map[string]string{"HOST": "0.0.0.0"}}.Lookup()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 9001 || !s.Debug || s.AppName != "quoted name" || s.Host != "0.0.0.0" {
		t.Errorf("loaded Port=%d Debug=%v AppName=%q Host=%q", s.Port, s.Debug, s.AppName, s.Host)
	}
}
