package cmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"agentplane/store"
)

// migrateFunc is one migrate subcommand's work on an open migrator.
type migrateFunc func(ctx context.Context, c *cobra.Command, m *store.Migrator, w io.Writer) error

// newMigrateCmd is `agentplane migrate [up|down|status|version]`; no
// subcommand means up (DESIGN decision 4).
func newMigrateCmd(g *globals) *cobra.Command {
	c := migrateCommand(g, "migrate", "Apply, roll back or show schema migrations (no subcommand: apply all pending)",
		func(ctx context.Context, _ *cobra.Command, m *store.Migrator, w io.Writer) error {
			return migrateUp(ctx, m, w, 0)
		})
	var to int64
	up := migrateCommand(g, "up", "Apply pending migrations (all, or up to --to)",
		func(ctx context.Context, _ *cobra.Command, m *store.Migrator, w io.Writer) error {
			return migrateUp(ctx, m, w, to)
		})
	up.Flags().Int64Var(&to, "to", 0, "apply up to and including this version")

	var downTo int64
	var all bool
	down := migrateCommand(g, "down", "Roll back the last migration (or down to --to, or --all)",
		func(ctx context.Context, c *cobra.Command, m *store.Migrator, w io.Writer) error {
			return migrateDown(ctx, m, w, all, c.Flags().Changed("to"), downTo)
		})
	down.Flags().Int64Var(&downTo, "to", 0, "roll back every migration above this version")
	down.Flags().BoolVar(&all, "all", false, "roll back every migration")
	down.MarkFlagsMutuallyExclusive("to", "all")

	c.AddCommand(up, down,
		migrateCommand(g, "status", "List migrations and whether each is applied", migrateStatus),
		migrateCommand(g, "version", "Print the current schema version and the newest this binary knows", migrateVersion),
	)
	return c
}

// migrateCommand builds a subcommand that loads settings, opens the
// database and runs fn.
func migrateCommand(g *globals, use, short string, fn migrateFunc) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.load(c, loadOptions{})
			if err != nil {
				return err
			}
			st, err := openStore(c.Context(), s, g.env.dir, nil)
			if err != nil {
				return err
			}
			defer st.Close()
			info(c.ErrOrStderr(), "migrate", "Database: "+st.Location())
			m, err := st.Migrator()
			if err != nil {
				return err
			}
			return fn(c.Context(), c, m, c.OutOrStdout())
		},
	}
}

func migrateUp(ctx context.Context, m *store.Migrator, w io.Writer, to int64) error {
	var res []store.Migration
	var err error
	if to > 0 {
		res, err = m.UpTo(ctx, to)
	} else {
		res, err = m.Up(ctx)
	}
	printResults(w, "applied", res)
	if err == nil && len(res) == 0 {
		info(w, "migrate", "Schema is up to date.")
	}
	return err
}

func migrateDown(ctx context.Context, m *store.Migrator, w io.Writer, all, hasTo bool, to int64) error {
	var res []store.Migration
	var err error
	switch {
	case all:
		res, err = m.DownTo(ctx, 0)
	case hasTo:
		res, err = m.DownTo(ctx, to)
	default:
		res, err = m.Down(ctx)
	}
	printResults(w, "rolled back", res)
	if err == nil && len(res) == 0 {
		info(w, "migrate", "Nothing to roll back.")
	}
	return err
}

func migrateStatus(ctx context.Context, _ *cobra.Command, m *store.Migrator, w io.Writer) error {
	list, err := m.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%-8s %-10s %-20s %s\n", "VERSION", "STATE", "APPLIED AT", "MIGRATION")
	for _, mg := range list {
		state, at := "pending", "-"
		if mg.Applied {
			state, at = "applied", mg.AppliedAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%-8d %-10s %-20s %s\n", mg.Version, state, at, mg.Name)
	}
	return nil
}

func migrateVersion(ctx context.Context, _ *cobra.Command, m *store.Migrator, w io.Writer) error {
	cur, latest, err := m.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "current: %d\nlatest: %d\n", cur, latest)
	return nil
}

func printResults(w io.Writer, verb string, res []store.Migration) {
	for _, r := range res {
		success(w, "migrate", verb+" "+strconv.FormatInt(r.Version, 10)+" "+r.Name+" ("+r.Duration.Round(time.Millisecond).String()+")")
	}
}
