package cmd

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"agentplane/config"
)

// loadOptions say what a command needs from the settings.
type loadOptions struct {
	flags      map[string]string // settings given as flags, by variable name
	devSecrets bool              // generate and use development secrets when enforcement is off
}

// load reads the settings lazily, inside RunE, so --help never touches env
// files (spec: cli-config-ops.md §2).
func (g *globals) load(c *cobra.Command, o loadOptions) (config.Settings, error) {
	src := config.Sources{Dir: g.env.dir, EnvFiles: g.envFiles, SkipEnv: g.skipEnv, Environ: g.env.lookup, Flags: o.flags}
	s, loaded, err := loadFrom(src)
	if err != nil {
		return s, err
	}
	if o.devSecrets && !s.Enforced() {
		path := filepath.Join(g.env.dir, config.DevSecretsPath)
		created, err := config.EnsureDevSecrets(path)
		if err != nil {
			return s, fmt.Errorf("generate development secrets: %w", err)
		}
		if created {
			info(c.ErrOrStderr(), "env", "Generated development secrets in "+path)
		}
		src.Fallbacks = []string{path}
		if s, loaded, err = loadFrom(src); err != nil {
			return s, err
		}
	}
	if !g.quietEnv {
		for _, f := range loaded {
			info(c.ErrOrStderr(), "env", "Loaded environment from "+f)
		}
	}
	return s, nil
}

func loadFrom(src config.Sources) (config.Settings, []string, error) {
	lookup, loaded, err := src.Lookup()
	if err != nil {
		return config.Settings{}, nil, fmt.Errorf("%w\nFix the file or pass --env-file with a readable one", err)
	}
	s, err := config.Load(lookup)
	if err != nil {
		return s, nil, fmt.Errorf("invalid settings:\n%w", err)
	}
	return s, loaded, nil
}

// info prints a console line `[INFO] [topic] message` (spec: cli-config-ops.md §2).
func info(w io.Writer, topic, msg string) { fmt.Fprintf(w, "[INFO] [%s] %s\n", topic, msg) }

// success prints `[SUCCESS] [topic] message`.
func success(w io.Writer, topic, msg string) { fmt.Fprintf(w, "[SUCCESS] [%s] %s\n", topic, msg) }
