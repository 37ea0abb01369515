package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo is what `herdctl version` shows.
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
}

func buildVersion() versionInfo {
	v := versionInfo{Version: "(devel)", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v.Commit = s.Value
		}
	}
	return v
}

func newVersionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Show herdctl's version", Args: needArgs(),
		RunE: func(*cobra.Command, []string) error {
			v := buildVersion()
			return a.print(v, func(w io.Writer) {
				commit := ""
				if v.Commit != "" {
					commit = " commit " + v.Commit
				}
				fmt.Fprintf(w, "herdctl %s %s%s\n", v.Version, v.GoVersion, commit)
			})
		},
	}
}
