// Command herdctl is the user's CLI for Herd. Its commands (login,
// clusters, kubeconfig, token) arrive with the server.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "herdctl:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && (args[0] == "version" || args[0] == "--version") {
		fmt.Println("herdctl (development build)")
		return nil
	}
	return fmt.Errorf("no commands yet: the Herd server and its CLI are not built yet; see README.md")
}
