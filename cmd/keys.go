package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"agentplane/config"
	"agentplane/keys"
)

func newKeysCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Manage the Ed25519 signing keyset",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(newKeysRotateCmd(g), newKeysJWKSCmd(g))
	return c
}

func newKeysRotateCmd(g *globals) *cobra.Command {
	var opt keys.RotateOptions
	c := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the active signing key; the old one stays valid for verification during a grace period",
		Long: `Rotate makes a new active key: the staged next key when there is one (and no
--kid is given), else a freshly generated one. The previous active key is
retired and keeps verifying tokens until the longest token lifetime has
passed, so nobody is logged out. --no-grace discards it at once (use it when
the key is compromised). --stage-next only publishes a new next key.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, st, err := g.keyset(c)
			if err != nil {
				return err
			}
			if opt.Grace, err = rotationGrace(s); err != nil {
				return err
			}
			res, err := keys.Rotate(c.Context(), st, opt)
			if err != nil {
				return err
			}
			msg := "Generated new Ed25519 key pair."
			if opt.StageNext {
				msg = "Staged a new next Ed25519 key pair."
			}
			success(c.ErrOrStderr(), "auth", msg)
			return printJSON(c.OutOrStdout(), res)
		},
	}
	f := c.Flags()
	f.StringVar(&opt.KID, "kid", "", "kid of the new key (default: ed25519-<12 hex>)")
	f.BoolVar(&opt.NoGrace, "no-grace", false, "discard the previous active key instead of retiring it (key compromise)")
	f.BoolVar(&opt.StageNext, "stage-next", false, "only generate and publish a new next key; the active key is untouched")
	c.MarkFlagsMutuallyExclusive("no-grace", "stage-next")
	return c
}

func newKeysJWKSCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "jwks",
		Short: "Print the public JWKS, exactly as GET /.well-known/jwks.json serves it",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			_, st, err := g.keyset(c)
			if err != nil {
				return err
			}
			ks, err := st.Load(c.Context())
			if err != nil {
				return err
			}
			return printJSON(c.OutOrStdout(), ks.JWKS(time.Now()))
		},
	}
}

// keyset loads the settings and opens the keyset storage they name.
func (g *globals) keyset(c *cobra.Command) (config.Settings, keys.Storage, error) {
	s, err := g.load(c, loadOptions{})
	if err != nil {
		return s, nil, err
	}
	st, err := keyStorage(s, g.env.dir)
	return s, st, err
}

// printJSON writes v as 2-space indented JSON, as the reference CLI prints.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print: %w", err)
	}
	return nil
}
