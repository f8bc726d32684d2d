package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/joho/godotenv"
)

// The default env files, read from Sources.Dir (spec: cli-config-ops.md §2).
const (
	envLocalFile   = ".env.local"
	envFile        = ".env"
	envComposeFile = ".env.compose"
)

// Sources says where settings come from (spec: cli-config-ops.md §2 and §7, STYLE.md §9).
// Lookup chains them, highest priority first:
//
//	Flags > process environment (Environ) > .env.local > EnvFiles (the last given wins) > .env >
//	.env.compose > Fallbacks (the last given wins)
//
// A source that holds a variable with an empty value does not hide a lower one: empty means
// unset (spec §7), so `OPENAI_API_KEY=` exported empty by a compose file still lets .env.local's
// key through. Only when every source that has the variable has it empty is it reported as set
// to "". Files are parsed with godotenv; the process environment is read, never written.
type Sources struct {
	// Dir is the directory holding .env.local, .env and .env.compose; "" is the working directory.
	Dir string
	// EnvFiles are the --env-file paths in the order given ("~" is the home directory; relative
	// paths are relative to the working directory). Each must exist.
	EnvFiles []string
	// SkipEnv (--skip-env) skips the three default files; EnvFiles and Fallbacks still load.
	// STARTER_CLI_SKIP_ENV=1/true/yes in Environ does the same.
	SkipEnv bool
	// Environ looks up the process environment, normally os.LookupEnv; nil means none.
	Environ func(key string) (string, bool)
	// Flags are settings given as command-line flags, keyed by variable name (e.g. "PORT"):
	// only flags the user actually set.
	Flags map[string]string
	// Fallbacks are files below everything else, each of which must exist: cmd adds the file of
	// EnsureDevSecrets here while Enforced is false, so generated development secrets fill in only
	// what no real source sets.
	Fallbacks []string
}

// Lookup returns the chained lookup for Load and the absolute paths of the env files it read, in
// loading order (lowest priority first, as the reference prints "Loaded environment from <path>").
// Missing default files are skipped; a missing EnvFiles or Fallbacks entry, an unreadable file or
// a malformed one is an error (wrapping ErrEnvFile) that names the file.
func (src Sources) Lookup() (lookup func(key string) (string, bool), loaded []string, err error) {
	environ := src.Environ
	if environ == nil {
		environ = func(string) (string, bool) { return "", false }
	}
	skip := src.SkipEnv
	if v, ok := environ("STARTER_CLI_SKIP_ENV"); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "yes":
			skip = true
		}
	}

	// Resolve every path; a file named twice keeps its first position, the defaults' first
	// (as the reference's de-duplication).
	seen := map[string]bool{}
	required := map[string]bool{} // named explicitly: must exist
	resolve := func(paths []string, explicit bool) ([]string, error) {
		var out []string
		for _, p := range paths {
			abs, err := absPath(p)
			if err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrEnvFile, p, err)
			}
			required[abs] = required[abs] || explicit
			if !seen[abs] {
				seen[abs] = true
				out = append(out, abs)
			}
		}
		return out, nil
	}
	var under, over []string // the default files below and above the EnvFiles
	if !skip {
		dir := src.Dir
		if dir == "" {
			dir = "."
		}
		names := []string{envComposeFile, envFile, envLocalFile}
		for i := range names {
			names[i] = filepath.Join(dir, names[i])
		}
		defaults, err := resolve(names, false)
		if err != nil {
			return nil, nil, err
		}
		under, over = defaults[:2], defaults[2:] // .env.compose, .env | .env.local
	}
	custom, err := resolve(src.EnvFiles, true)
	if err != nil {
		return nil, nil, err
	}
	fallbacks, err := resolve(src.Fallbacks, true)
	if err != nil {
		return nil, nil, err
	}

	// Loading order, lowest priority first.
	order := slices.Concat(fallbacks, under, custom, over)

	// The layers, highest priority first: flags, the process environment, then the files.
	layers := []func(string) (string, bool){environ}
	if flags := maps.Clone(src.Flags); len(flags) > 0 {
		layers = slices.Insert(layers, 0, func(k string) (string, bool) { v, ok := flags[k]; return v, ok })
	}
	var files []func(string) (string, bool)
	for _, path := range order {
		vars, err := readEnvFile(path)
		if errors.Is(err, fs.ErrNotExist) && !required[path] {
			continue // a missing default file is skipped silently
		}
		if err != nil {
			return nil, nil, err
		}
		loaded = append(loaded, path)
		files = append(files, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	}
	slices.Reverse(files)
	layers = append(layers, files...)
	lookup = func(key string) (string, bool) {
		found := false
		for _, layer := range layers {
			if v, ok := layer(key); ok {
				if strings.TrimSpace(v) != "" {
					return v, true
				}
				found = true
			}
		}
		return "", found
	}
	return lookup, loaded, nil
}

// absPath expands a leading "~" and makes path absolute.
func absPath(path string) (string, error) {
	home := ""
	if path == "~" || strings.HasPrefix(path, "~/") || strings.HasPrefix(path, `~`+string(filepath.Separator)) {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = h
	}
	return filepath.Abs(expandHome(path, home))
}

// expandHome replaces a leading "~" (alone or before a separator) with home.
func expandHome(path, home string) string {
	if home == "" {
		return path
	}
	if path == "~" {
		return home
	}
	if strings.HasPrefix(path, "~/") || strings.HasPrefix(path, `~`+string(filepath.Separator)) {
		return filepath.Join(home, path[2:])
	}
	return path
}

// readEnvFile parses one env file. Parse errors never quote the file's text (it holds secrets):
// they name the file and the line where parsing stops.
func readEnvFile(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w %s: not found: %w", ErrEnvFile, path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("%w %s: %w", ErrEnvFile, path, err)
	}
	vars, err := godotenv.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w %s: line %d: %s", ErrEnvFile, path, badLine(data), parseProblem(err))
	}
	return vars, nil
}

// badLine finds the line where parsing fails: the last line k such that lines 1..k-1 parse.
func badLine(data []byte) int {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for k := len(lines); k > 1; k-- {
		if _, err := godotenv.Parse(strings.NewReader(strings.Join(lines[:k-1], "\n"))); err == nil {
			return k
		}
	}
	return 1
}

// parseProblem describes a godotenv error without the file text it quotes.
func parseProblem(err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "unexpected character"):
		return "unexpected character in a variable name; expected KEY=value"
	case strings.HasPrefix(msg, "unterminated quoted value"):
		return "unterminated quoted value"
	}
	return "malformed line; expected KEY=value"
}
