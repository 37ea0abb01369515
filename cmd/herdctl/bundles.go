package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

func newBundlesCommand(a *app) *cobra.Command {
	return group("bundles", "Deploy manifests and Helm charts to many clusters at once",
		newBundlesApplyCommand(a),
		newBundlesListCommand(a),
		newBundlesGetCommand(a),
		newBundlesDeleteCommand(a),
		newBundlesRefreshCommand(a),
	)
}

// maxBundleFile bounds a file read by bundles apply.
const maxBundleFile = 1 << 20

func newBundlesApplyCommand(a *app) *cobra.Command {
	var file, gitUser string
	var gitPasswordStdin bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--git-username USER --git-password-stdin]",
		Short: "Create bundles, or replace their spec, from a YAML file of Bundle objects",
		Long: `Create bundles, or replace their spec, from a file of Bundle objects
(apiVersion management.herd.dev/v1, kind Bundle; several separated by ---).
A bundle is applied in each cluster with your rights there: what you may not
create in a cluster, the bundle does not create either (its status says why).

Git credentials (--git-username and a password or token on stdin) are kept
with the bundle, in a Secret only Herd reads.`,
		Example: `  herdctl bundles apply -f web.yaml
  herdctl bundles apply -f web.yaml --git-username deploy --git-password-stdin < token`,
		Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("-f FILE is required (- reads stdin)")
			}
			if gitPasswordStdin && file == "-" {
				return errors.New("--git-password-stdin reads stdin: give the bundles in a file")
			}
			if gitPasswordStdin != (gitUser != "") {
				return errors.New("--git-username and --git-password-stdin go together")
			}
			objs, err := a.readBundles(file)
			if err != nil {
				return err
			}
			var creds *herdapi.GitCredentials
			if gitPasswordStdin {
				password, err := a.readSecret(true, "Git password", false)
				if err != nil {
					return err
				}
				creds = &herdapi.GitCredentials{Username: gitUser, Password: password}
			}
			s, err := a.session()
			if err != nil {
				return err
			}
			for _, b := range objs {
				if creds != nil && b.Spec.Git == nil {
					return fmt.Errorf("bundle %s has no spec.git for the Git credentials", b.Name)
				}
				_, err := s.client.ApplyBundle(cmd.Context(), b.Name, &herdapi.BundleApply{Spec: b.Spec, GitCredentials: creds})
				if err != nil {
					return explain(err, s.cfg, action{what: "apply bundle " + b.Name, kind: "bundle", name: b.Name})
				}
				fmt.Fprintf(a.stdout, "bundle %s applied\n", b.Name)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "the YAML file of Bundle objects (- for stdin)")
	cmd.Flags().StringVar(&gitUser, "git-username", "", "user name for the bundles' Git repository")
	cmd.Flags().BoolVar(&gitPasswordStdin, "git-password-stdin", false, "read the Git password or token from stdin")
	return cmd
}

// readBundles reads Bundle objects from file (- for stdin), strictly: a
// misspelt field is an error, not ignored.
func (a *app) readBundles(file string) ([]v1.Bundle, error) {
	var r io.Reader = a.stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBundleFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBundleFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", file, maxBundleFile)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []v1.Bundle
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || string(bytes.TrimSpace(doc)) == "---" {
			continue
		}
		var b v1.Bundle
		if err := yaml.UnmarshalStrict(doc, &b); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		switch {
		case b.Kind != "Bundle" || (b.APIVersion != v1.GroupVersion.String()):
			return nil, fmt.Errorf("%s: document %d is a %s %s: want apiVersion %s, kind Bundle", file, i, b.APIVersion, b.Kind, v1.GroupVersion)
		case b.Name == "":
			return nil, fmt.Errorf("%s: document %d: metadata.name is required", file, i)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no Bundle", file)
	}
	return out, nil
}

func newBundlesListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "list", Aliases: []string{"ls"}, Args: needArgs(),
		Short: "List bundles: yours, or everyone's with the right to (admin)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			list, err := s.client.ListBundles(cmd.Context())
			if err != nil {
				return explain(err, s.cfg, action{what: "list bundles"})
			}
			return a.print(list, func(w io.Writer) {
				row(w, "NAME", "READY", "REVISION", "PAUSED", "CREATOR", "AGE", "MESSAGE")
				for _, b := range list.Items {
					row(w, b.Name, b.Status.Summary, b.Status.Revision, strconv.FormatBool(b.Status.Paused), creator(b),
						age(b.CreatedAt, a.now()), b.Status.Message)
				}
			})
		},
	}
}

func newBundlesGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "get NAME", Args: needArgs("NAME"),
		Short: "Show a bundle and its state in each cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			b, err := s.client.GetBundle(cmd.Context(), args[0])
			if err != nil {
				return explain(err, s.cfg, action{what: "read bundle " + args[0], kind: "bundle", name: args[0]})
			}
			return a.print(b, func(w io.Writer) {
				source := "inline manifests"
				if g := b.Spec.Git; g != nil {
					source = g.Repo + " " + g.Ref + " " + g.Path
				}
				fields(w, "Name", b.Name, "Creator", creator(*b), "Source", source, "Revision", b.Status.Revision,
					"Ready", b.Status.Summary, "Paused", strconv.FormatBool(b.Status.Paused), "Message", b.Status.Message)
				fmt.Fprintln(w)
				row(w, "CLUSTER", "STATE", "REVISION", "MESSAGE")
				for _, c := range b.Status.Clusters {
					row(w, c.Cluster, c.State, c.Revision, c.Message)
				}
			})
		},
	}
}

func newBundlesDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "delete NAME", Aliases: []string{"rm"}, Args: needArgs("NAME"),
		Short: "Delete a bundle; what it applied is removed from its clusters",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := s.client.DeleteBundle(cmd.Context(), args[0]); err != nil {
				return explain(err, s.cfg, action{what: "delete bundle " + args[0], kind: "bundle", name: args[0]})
			}
			fmt.Fprintf(a.stdout, "bundle %s deleted\n", args[0])
			return nil
		},
	}
}

func newBundlesRefreshCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use: "refresh NAME", Args: needArgs("NAME"),
		Short: "Look at a bundle's Git branch or tag now, not at the next poll",
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			if err := s.client.RefreshBundle(cmd.Context(), args[0]); err != nil {
				return explain(err, s.cfg, action{what: "refresh bundle " + args[0], kind: "bundle", name: args[0]})
			}
			fmt.Fprintf(a.stdout, "bundle %s: its Git source is looked at now\n", args[0])
			return nil
		},
	}
}

// creator names a bundle's creator by login name where known.
func creator(b herdapi.Bundle) string {
	if b.CreatorUsername != "" {
		return b.CreatorUsername
	}
	return b.Creator
}
