package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// app is what every command shares: the streams, the environment and the
// global flags. Tests build one with buffers and a temporary config.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	// isTerminal reports whether stdin is a terminal one can prompt on.
	isTerminal func() bool
	// readPassword reads a line from the terminal without echo.
	readPassword func() (string, error)
	// openBrowser opens a URL in the user's browser; nil means there is none.
	openBrowser func(url string) error

	// output is the -o flag.
	output string

	in *bufio.Reader // stdin, buffered once so lines are not lost between reads
}

func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "herdctl",
		Short: "herdctl manages a Herd server: clusters, users, tokens, projects, members and identity providers",
		Long: `herdctl manages a Herd server: clusters, users, tokens, projects, members and identity providers.

Start with
  herdctl login https://herd.example.com --username alice --password-stdin --ca-checksum SHA256
where SHA256 is the CA checksum your administrator gives you, or log in with
a browser with --provider github or --provider oidc.
Settings are kept in ~/.herd/config, or in the file HERDCONFIG names.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return checkFormat(a.output)
		},
	}
	root.PersistentFlags().StringVarP(&a.output, "output", "o", formatTable, "output format: "+strings.Join(formats, ", "))
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w: see `%s --help`", err, cmd.CommandPath())
	})
	root.AddCommand(
		newLoginCommand(a),
		newLogoutCommand(a),
		newWhoamiCommand(a),
		newClustersCommand(a),
		newUsersCommand(a),
		newTokensCommand(a),
		newSessionsCommand(a),
		newBundlesCommand(a),
		newRolesCommand(a),
		newProjectsCommand(a),
		newMembersCommand(a),
		newMachinesCommand(a),
		newEtcdCommand(a),
		newPrincipalsCommand(a),
		newAuthCommand(a),
		newKubeconfigCommand(a),
		newTokenCommand(a),
		newVersionCommand(a),
	)
	return root
}

// needArgs accepts exactly the named positional arguments and says which
// are missing.
func needArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(args) < len(names) {
			return fmt.Errorf("missing %s: usage: %s", strings.Join(names[len(args):], " "), cmd.UseLine())
		}
		return fmt.Errorf("too many arguments %q: usage: %s", args[len(names):], cmd.UseLine())
	}
}

// group is a command that only holds subcommands: alone it shows its help,
// with an unknown subcommand it fails.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q: see `%s --help`", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}
