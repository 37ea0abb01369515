package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"herd.dev/herd/internal/herdapi"
)

func newEtcdS3Command(a *app) *cobra.Command {
	var s herdapi.EtcdS3
	var caFile string
	var secretStdin, off bool
	cmd := &cobra.Command{
		Use:   "s3 CLUSTER (--endpoint HOST[:PORT] --bucket B [--folder F] [--region R] [--ca-file PEM] --access-key K --secret-key-stdin | --off)",
		Short: "Store the cluster's etcd snapshots also in S3-compatible object storage",
		Long: `Store the cluster's etcd snapshots also in S3-compatible object storage (its administrators): each
snapshot taken from then on is copied to BUCKET/FOLDER, deleted ones are removed from there, and a
restore fetches the snapshot from S3 when its etcd machine no longer has it. A snapshot that cannot be
stored in S3 (unreachable, refused credentials, no such bucket) fails, saying why. The keys are kept in
a Secret of the management cluster and never shown again; the secret key is read from stdin.`,
		Args: needArgs("CLUSTER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var req *herdapi.EtcdS3
			if !off {
				if !secretStdin {
					return fmt.Errorf("give --secret-key-stdin (and the secret key on stdin), or --off")
				}
				key, err := a.readLine()
				if err != nil {
					return fmt.Errorf("read the secret key from stdin: %w", err)
				}
				s.SecretKey = key
				if caFile != "" {
					data, err := os.ReadFile(caFile)
					if err != nil {
						return fmt.Errorf("--ca-file: %w", err)
					}
					s.EndpointCA = string(data)
				}
				req = &s
			}
			sess, err := a.session()
			if err != nil {
				return err
			}
			c, err := sess.client.Etcd().SetS3(cmd.Context(), args[0], req)
			if err != nil {
				return explain(err, sess.cfg, action{what: "set the S3 store of cluster " + args[0], kind: "cluster", name: args[0]})
			}
			return a.print(c, func(w io.Writer) {
				if c.EtcdS3 == nil {
					fmt.Fprintf(w, "cluster %s keeps its etcd snapshots on its etcd machine only\n", c.Name)
					return
				}
				fmt.Fprintf(w, "cluster %s stores its etcd snapshots also in s3://%s/%s at %s\n", c.Name, c.EtcdS3.Bucket, c.EtcdS3.Folder, c.EtcdS3.Endpoint)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Endpoint, "endpoint", "", "HOST[:PORT] of the S3 endpoint (HTTPS), or an http:// URL")
	f.StringVar(&s.Bucket, "bucket", "", "the bucket")
	f.StringVar(&s.Folder, "folder", "", "the folder in the bucket")
	f.StringVar(&s.Region, "region", "", "the region")
	f.StringVar(&caFile, "ca-file", "", "PEM CA the endpoint's certificate is signed by (default: the system's)")
	f.BoolVar(&s.SkipTLSVerify, "skip-verify", false, "do not verify the endpoint's certificate")
	f.StringVar(&s.AccessKey, "access-key", "", "the access key")
	f.BoolVar(&secretStdin, "secret-key-stdin", false, "read the secret key from the first line of stdin")
	f.BoolVar(&off, "off", false, "keep snapshots on the etcd machine only")
	return cmd
}
