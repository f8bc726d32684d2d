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

// newMigrateCmd is `agentplane migrate [up|down|status|version]`; no
// subcommand means up (DESIGN decision 4).
func newMigrateCmd(g *globals) *cobra.Command {
	var to int64
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or show schema migrations (no subcommand: apply all pending)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withMigrator(c, g, func(ctx context.Context, m *store.Migrator, w io.Writer) error {
				return migrateUp(ctx, m, w, 0)
			})
		},
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Apply pending migrations (all, or up to --to)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withMigrator(c, g, func(ctx context.Context, m *store.Migrator, w io.Writer) error {
				return migrateUp(ctx, m, w, to)
			})
		},
	}
	up.Flags().Int64Var(&to, "to", 0, "apply up to and including this version")

	var downTo int64
	var all bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Roll back the last migration (or down to --to, or --all)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withMigrator(c, g, func(ctx context.Context, m *store.Migrator, w io.Writer) error {
				var res []store.Migration
				var err error
				switch {
				case all:
					res, err = m.DownTo(ctx, 0)
				case c.Flags().Changed("to"):
					res, err = m.DownTo(ctx, downTo)
				default:
					res, err = m.Down(ctx)
				}
				printResults(w, "rolled back", res)
				if err == nil && len(res) == 0 {
					info(w, "migrate", "Nothing to roll back.")
				}
				return err
			})
		},
	}
	down.Flags().Int64Var(&downTo, "to", 0, "roll back every migration above this version")
	down.Flags().BoolVar(&all, "all", false, "roll back every migration")
	down.MarkFlagsMutuallyExclusive("to", "all")

	status := &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withMigrator(c, g, func(ctx context.Context, m *store.Migrator, w io.Writer) error {
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
			})
		},
	}
	versionCmd := &cobra.Command{
		Use:   "version",
		Short: "Print the current schema version and the newest this binary knows",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withMigrator(c, g, func(ctx context.Context, m *store.Migrator, w io.Writer) error {
				cur, latest, err := m.Version(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "current: %d\nlatest: %d\n", cur, latest)
				return nil
			})
		},
	}
	c.AddCommand(up, down, status, versionCmd)
	return c
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

// withMigrator loads settings, opens the database and runs fn.
func withMigrator(c *cobra.Command, g *globals, fn func(context.Context, *store.Migrator, io.Writer) error) error {
	s, err := g.load(c, loadOptions{})
	if err != nil {
		return err
	}
	st, err := openStore(c.Context(), s, g.env.dir)
	if err != nil {
		return err
	}
	defer st.Close()
	info(c.ErrOrStderr(), "migrate", "Database: "+st.Location())
	m, err := st.Migrator()
	if err != nil {
		return err
	}
	return fn(c.Context(), m, c.OutOrStdout())
}

func printResults(w io.Writer, verb string, res []store.Migration) {
	for _, r := range res {
		success(w, "migrate", verb+" "+strconv.FormatInt(r.Version, 10)+" "+r.Name+" ("+r.Duration.Round(time.Millisecond).String()+")")
	}
}
