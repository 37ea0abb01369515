package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
	"herd.dev/herd/internal/herdclient"
)

func newKubeconfigCommand(a *app) *cobra.Command {
	var exec, direct bool
	cmd := &cobra.Command{
		Use:   "kubeconfig CLUSTER [--exec] [--direct]",
		Short: "Print a kubeconfig that reaches CLUSTER through Herd",
		Long: `Print a kubeconfig whose context reaches CLUSTER through Herd's proxy. By default it holds a
new kubeconfig token scoped to that cluster (valid 30 days unless the server says less); with
--exec it holds no secret and runs ` + "`herdctl token`" + ` for your current login instead.
When the cluster has an authorized endpoint, the kubeconfig also has a context CLUSTER-direct that
reaches its kube-apiserver directly with the same token (it keeps working when Herd is down);
--direct makes it the current context.`,
		Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.session()
			if err != nil {
				return err
			}
			data, err := s.client.KubeconfigWith(cmd.Context(), args[0], herdclient.KubeconfigOptions{Exec: exec, Direct: direct})
			if err != nil {
				return explain(err, s.cfg, action{what: "get a kubeconfig for cluster " + args[0], kind: "cluster", name: args[0]})
			}
			_, err = a.stdout.Write(data)
			return err
		},
	}
	cmd.Flags().BoolVar(&exec, "exec", false, "use `herdctl token` as a kubectl exec credential plugin instead of embedding a token")
	cmd.Flags().BoolVar(&direct, "direct", false, "make the direct context (the cluster's authorized endpoint) current")
	return cmd
}

// execCredential is client.authentication.k8s.io/v1 ExecCredential.
type execCredential struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Status     struct {
		Token               string     `json:"token"`
		ExpirationTimestamp *time.Time `json:"expirationTimestamp,omitempty"`
	} `json:"status"`
}

func newTokenCommand(a *app) *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use:   "token [--cluster CLUSTER]",
		Short: "Print your login token as a kubectl exec credential (client.authentication.k8s.io/v1)",
		Long: `Print your login token as a kubectl exec credential. With --cluster, print a token scoped to
that cluster instead (made once and kept in the config until an hour before it expires): such a
token also works on the cluster's direct endpoint, which does not know login sessions.`,
		Args: needArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Server == "" || cfg.Token == "" {
				return fmt.Errorf("not logged in: run `%s`", loginCommand(cfg))
			}
			cred := execCredential{APIVersion: "client.authentication.k8s.io/v1", Kind: "ExecCredential"}
			cred.Status.Token = cfg.Token
			if cluster != "" {
				t, err := a.clusterToken(cmd.Context(), cfg, path, cluster)
				if err != nil {
					return err
				}
				cred.Status.Token = t.Token
				exp := t.ExpiresAt.UTC()
				cred.Status.ExpirationTimestamp = &exp
			}
			return json.NewEncoder(a.stdout).Encode(cred)
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "print a token scoped to this cluster (works on its direct endpoint too)")
	return cmd
}

// clusterToken returns the cached token of a cluster, or makes one. A
// cached token that the server no longer has (revoked, or its cluster
// deleted) is replaced; when the server does not answer, the cached one is
// used, for the cluster's direct endpoint.
func (a *app) clusterToken(ctx context.Context, cfg *fileConfig, path, cluster string) (clusterToken, error) {
	client, err := newClient(cfg, cfg.Token)
	if err != nil {
		return clusterToken{}, err
	}
	if t, ok := cfg.ClusterTokens[cluster]; ok && t.ExpiresAt.Sub(a.now()) > time.Hour && a.stillValid(ctx, client, t) {
		return t, nil
	}
	resp, err := client.CreateToken(ctx, herdapi.TokenCreateRequest{Kind: herdapi.KindKubeconfig, ClusterName: cluster,
		Description: "herdctl token --cluster " + cluster})
	if err != nil {
		return clusterToken{}, explain(err, cfg, action{what: "get a token for cluster " + cluster, kind: "cluster", name: cluster})
	}
	t := clusterToken{Token: resp.Token, Name: resp.Info.Name, ExpiresAt: resp.Info.ExpiresAt}
	if old, ok := cfg.ClusterTokens[cluster]; ok && old.Name != "" {
		_ = client.RevokeToken(ctx, old.Name) // an earlier one that may still work
	}
	if cfg.ClusterTokens == nil {
		cfg.ClusterTokens = map[string]clusterToken{}
	}
	cfg.ClusterTokens[cluster] = t
	return t, saveConfig(path, cfg)
}

// stillValid reports whether the server still has t, enabled and not
// expired; a server that does not answer (down, or far) is taken to have it.
func (a *app) stillValid(ctx context.Context, client *herdclient.Client, t clusterToken) bool {
	if t.Name == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	list, err := client.ListTokens(ctx, false)
	var apiErr *herdclient.APIError
	if err != nil && !errors.As(err, &apiErr) {
		return true
	}
	if err != nil {
		return false
	}
	for _, tok := range list.Items {
		if tok.Name == t.Name {
			return tok.Enabled && !tok.Expired
		}
	}
	return false
}
