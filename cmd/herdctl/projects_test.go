package main

import (
	"encoding/json"
	"testing"

	"herd.dev/herd/internal/herdapi"
)

func TestProjects(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	shopJSON, _ := json.MarshalIndent(herdapi.Project{Name: "shop", ClusterName: "prod", DisplayName: "Shop", Description: "the shop",
		Namespaces: []string{"shop", "shop-db"}, CreatedAt: testNow}, "", "  ")
	c.runTests(t, []cmdTest{
		{name: "list", args: []string{"projects", "list"}, stdout: "" +
			"NAME   CLUSTER   NAMESPACES                  AGE\n" +
			"web    prod      web-a,web-b,web-c +1 more   2d\n",
			requests: []string{"GET /v1/projects"}},
		{name: "list of a cluster without projects", args: []string{"projects", "list", "--cluster", "dev one"},
			stderr:   "No projects: make one with `herdctl projects create NAME --cluster CLUSTER`\n",
			requests: []string{"GET /v1/projects?cluster=dev+one"}},
		{name: "create", args: []string{"projects", "create", "shop", "--cluster", "prod", "--display-name", "Shop", "--description", "the shop"}, stdout: "" +
			"NAME   CLUSTER   NAMESPACES   AGE\n" +
			"shop   prod      -            0s\n",
			requests: []string{`POST /v1/projects {"name":"shop","clusterName":"prod","displayName":"Shop","description":"the shop"}`}},
		{name: "create without cluster", args: []string{"projects", "create", "x"}, wantErr: true,
			stdout: "--cluster is required: name the cluster the project is in (see `herdctl clusters list`)"},
		{name: "create twice", args: []string{"projects", "create", "web", "--cluster", "prod"}, wantErr: true,
			stdout:   "project web already exists: see `herdctl projects list`",
			requests: []string{`POST /v1/projects {"name":"web","clusterName":"prod"}`}},
		{name: "create in an unknown cluster", args: []string{"projects", "create", "x", "--cluster", "nope"}, wantErr: true,
			stdout:   "failed to create project x: cluster nope does not exist",
			requests: []string{`POST /v1/projects {"name":"x","clusterName":"nope"}`}},
		{name: "get", args: []string{"projects", "get", "web"}, stdout: "" +
			"Name:           web\n" +
			"Cluster:        prod\n" +
			"Display name:   Web\n" +
			"Description:    -\n" +
			"Age:            2d\n" +
			"Namespaces:     web-a\n" +
			"                web-b\n" +
			"                web-c\n" +
			"                web-d\n",
			requests: []string{"GET /v1/projects/web"}},
		{name: "get unknown", args: []string{"projects", "get", "nope"}, wantErr: true,
			stdout: "project nope not found: see `herdctl projects list`", requests: []string{"GET /v1/projects/nope"}},
		{name: "add namespace", args: []string{"projects", "add-namespace", "shop", "shop"},
			stdout:   "namespace shop added to project shop\n",
			requests: []string{`POST /v1/projects/shop/namespaces {"namespace":"shop"}`}},
		{name: "add and create namespace", args: []string{"projects", "add-namespace", "shop", "shop-db", "--create", "-o", "json"},
			stdout:   string(shopJSON) + "\n",
			requests: []string{`POST /v1/projects/shop/namespaces {"namespace":"shop-db","create":true}`}},
		{name: "add a namespace of another project", args: []string{"projects", "add-namespace", "shop", "web-a"}, wantErr: true,
			stdout:   "namespace web-a is in another project: find it with `herdctl projects list` and run `herdctl projects remove-namespace OTHER web-a` first",
			requests: []string{`POST /v1/projects/shop/namespaces {"namespace":"web-a"}`}},
		{name: "add a missing namespace", args: []string{"projects", "add-namespace", "shop", "nope"}, wantErr: true,
			stdout:   "project shop or namespace nope not found: see `herdctl projects list`, or add --create to make the namespace",
			requests: []string{`POST /v1/projects/shop/namespaces {"namespace":"nope"}`}},
		{name: "add without namespace", args: []string{"projects", "add-namespace", "shop"}, wantErr: true,
			stdout: "missing NAMESPACE: usage: herdctl projects add-namespace PROJECT NAMESPACE [--create]"},
		{name: "remove namespace", args: []string{"projects", "remove-namespace", "web", "web-d"},
			stdout:   "namespace web-d removed from project web\n",
			requests: []string{"DELETE /v1/projects/web/namespaces/web-d"}},
		{name: "remove a namespace not in the project", args: []string{"projects", "remove-namespace", "web", "web-d"}, wantErr: true,
			stdout:   "project web has no namespace web-d: see `herdctl projects get web`",
			requests: []string{"DELETE /v1/projects/web/namespaces/web-d"}},
		{name: "delete", args: []string{"projects", "delete", "shop"}, stdout: "project shop deleted\n",
			requests: []string{"DELETE /v1/projects/shop"}},
		{name: "delete unknown", args: []string{"projects", "delete", "shop"}, wantErr: true,
			stdout: "project shop not found: see `herdctl projects list`", requests: []string{"DELETE /v1/projects/shop"}},
	})
}
