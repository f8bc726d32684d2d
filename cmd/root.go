// Package cmd is agentplane's cobra command tree: one file per command. It
// parses flags, loads settings, builds the pieces and calls them; no
// business logic lives here. Execute is the only code that picks an exit
// code (spec: cli-config-ops.md §2).
package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X agentplane/cmd.version=v1.2.3".
var version = "dev"

// Execute runs the command tree under a signal-aware context and returns the
// process exit code: 0, or 1 after printing `[ERROR] <message>`.
func Execute() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], env{lookup: os.LookupEnv}, os.Stdin, os.Stdout, os.Stderr)
}

// env is what the commands read from the process: its environment and the
// directory holding .env files and var/ ("" = the working directory).
type env struct {
	lookup func(string) (string, bool)
	dir    string
}

// run executes one command line; tests call it with their own env and I/O.
func run(ctx context.Context, args []string, e env, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// printError prints each line of err (joined errors give one line each).
func printError(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		fmt.Fprintf(w, "[ERROR] %s\n", line)
	}
}

// globals are the flags every command takes (spec: cli-config-ops.md §2).
type globals struct {
	envFiles []string
	skipEnv  bool
	quietEnv bool
	env      env
}

func newRootCmd(e env) *cobra.Command {
	g := &globals{env: e}
	root := &cobra.Command{
		Use:   "agentplane",
		Short: "One binary for an AI-agent SaaS backend and its operator tools",
		Long: `agentplane runs a complete SaaS backend for AI-agent products (auth, tenants,
agents and chat, billing, status page) and the operator tools around it.

Settings come from, highest priority first: flags, the process environment,
.env.local, --env-file files, .env, .env.compose.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE:          func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	pf := root.PersistentFlags()
	pf.StringArrayVar(&g.envFiles, "env-file", nil, "extra env file, loaded after .env.local (repeatable)")
	pf.BoolVar(&g.skipEnv, "skip-env", false, "do not load .env.local, .env and .env.compose (also STARTER_CLI_SKIP_ENV=1)")
	pf.BoolVar(&g.quietEnv, "quiet-env", false, "do not print which env files were loaded")

	root.AddCommand(
		newServeCmd(g),
		newMigrateCmd(g),
		newKeysCmd(g),
		newAuthCmd(g),
		newChatCmd(g),
		newVersionCmd(),
	)
	return root
}
