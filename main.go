// Command agentplane runs the agentplane SaaS backend and its operator tools.
package main

import (
	"os"

	"agentplane/cmd"
)

func main() { os.Exit(cmd.Execute()) }
