package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

func TestClustersListFormats(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.srv.Put(t, &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "dev", CreationTimestamp: metav1.NewTime(testNow.Add(-90 * time.Second))},
		Status: v1.ClusterStatus{Conditions: []metav1.Condition{condition(v1.ClusterConnected, metav1.ConditionFalse, "the agent has not connected yet")}}})
	want := c.clusters("dev", "prod")

	t.Run("table", func(t *testing.T) {
		got := c.ok("", "clusters", "list")
		wantTable := "" +
			"NAME   CONNECTED   READY     VERSION   NODES   CPU        MEMORY       PODS     AGE\n" +
			"dev    False       Unknown   -         0       -          -            -        90s\n" +
			"prod   True        True      v1.37.2   3       2.25/8.5   3Gi/45.2Gi   27/330   2d\n"
		if got != wantTable {
			t.Errorf("got\n%s\nwant\n%s", got, wantTable)
		}
	})
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			out := c.ok("", "clusters", "list", "-o", format)
			var got herdapi.ClusterList
			var err error
			if format == "json" {
				err = json.Unmarshal([]byte(out), &got)
			} else {
				err = yaml.UnmarshalStrict([]byte(out), &got)
			}
			if err != nil {
				t.Fatalf("output is not %s: %v\n%s", format, err, out)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		c.fails(`unknown output format "xml": use one of table, json, yaml`, "", "clusters", "list", "-o", "xml")
	})
}

func TestClustersGet(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	c.srv.Put(t, &v1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "edge", CreationTimestamp: metav1.NewTime(testNow)},
		Status: v1.ClusterStatus{Conditions: []metav1.Condition{
			condition(v1.ClusterConnected, metav1.ConditionFalse, "the agent has not connected yet"),
			condition(v1.ClusterReady, metav1.ConditionFalse, "the agent has not connected yet"),
		}}})
	c.runTests(t, []cmdTest{
		{name: "nodes and resources", args: []string{"clusters", "get", "prod"}, stdout: "" +
			"Name:           prod\n" +
			"Display name:   Production\n" +
			"Description:    -\n" +
			"Connected:      True\n" +
			"Ready:          True\n" +
			"Agents:         2\n" +
			"Version:        v1.37.2\n" +
			"Nodes:          3\n" +
			"Age:            2d\n" +
			"\n" +
			"RESOURCE            REQUESTED   ALLOCATABLE   CAPACITY\n" +
			"cpu                 2.25        8.5           9\n" +
			"memory              3Gi         45.2Gi        48Gi\n" +
			"pods                27          330           330\n" +
			"ephemeral-storage   -           -             300Gi\n" +
			"\n" +
			"NODE       ROLES                VERSION   READY\n" +
			"cp-1       control-plane,etcd   v1.37.2   True\n" +
			"worker-1   -                    v1.37.2   True\n" +
			"worker-2   -                    v1.37.1   False\n",
			requests: []string{"GET /v1/clusters/prod"}},
		{name: "not ready, no nodes", args: []string{"clusters", "get", "edge"}, stdout: "" +
			"Name:           edge\n" +
			"Display name:   -\n" +
			"Description:    -\n" +
			"Connected:      False\n" +
			"Ready:          False\n" +
			"Message:        Connected: the agent has not connected yet\n" +
			"Agents:         0\n" +
			"Version:        -\n" +
			"Nodes:          0\n" +
			"Age:            0s\n",
			requests: []string{"GET /v1/clusters/edge"}},
	})
}

func TestClustersCreateGetDelete(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	out := c.ok("", "clusters", "create", "edge", "--display-name", "Edge", "--description", "shop floor")
	wantCmd := "kubectl apply -f " + c.srv.URL + "/v1/import/crt-"
	for _, want := range []string{"edge   Unknown     Unknown", "To import the cluster", "expires in 24h", "\n  " + wantCmd} {
		if !strings.Contains(out, want) {
			t.Errorf("create: got\n%s\nwant %q in it", out, want)
		}
	}
	if got := c.srv.Find("POST", "/v1/clusters")[0].Body; !strings.Contains(got, `{"name":"edge","displayName":"Edge","description":"shop floor"}`) {
		t.Errorf("create body: got %s", got)
	}
	var resp herdapi.ClusterCreateResponse
	if err := json.Unmarshal([]byte(c.ok("", "clusters", "create", "edge2", "-o", "json")), &resp); err != nil || resp.Import.Command == "" {
		t.Errorf("create -o json: got %+v, %v", resp, err)
	}

	if out := c.ok("", "clusters", "get", "edge"); !strings.Contains(out, "Display name:   Edge\n") {
		t.Errorf("get: got %q", out)
	}
	if out := c.ok("", "clusters", "delete", "edge"); out != "cluster edge deleted\n" {
		t.Errorf("delete: got %q", out)
	}
	c.fails("cluster edge not found: see `herdctl clusters list`", "", "clusters", "get", "edge")
	c.fails("cluster edge2 already exists: see `herdctl clusters list`", "", "clusters", "create", "edge2")
	c.fails("missing NAME: usage: herdctl clusters delete NAME", "", "clusters", "delete")
	c.fails(`unknown command "lst" for "herdctl clusters"`, "", "clusters", "lst")
}

func TestClustersImportCommand(t *testing.T) {
	c := newCLI(t)
	c.login("alice", "s3cret")
	tests := []struct {
		name  string
		flags []string
		want  herdapi.ImportRequest
	}{
		{"server default", nil, herdapi.ImportRequest{}},
		{"grace period", []string{"--grace-period", "10m"}, herdapi.ImportRequest{GracePeriodSeconds: 600}},
		{"partial seconds round up", []string{"--grace-period", "1500ms"}, herdapi.ImportRequest{GracePeriodSeconds: 2}},
		{"zero ends older tokens now", []string{"--grace-period", "0"}, herdapi.ImportRequest{GracePeriodSeconds: -1}},
	}
	commands := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := c.run("", append([]string{"clusters", "import-command", "prod"}, tt.flags...)...)
			if err != nil {
				t.Fatal(err)
			}
			if want := "kubectl apply -f " + c.srv.URL + "/v1/import/crt-"; !strings.HasPrefix(out, want) || !strings.HasSuffix(out, ".yaml\n") || errOut != "" {
				t.Errorf("got stdout %q stderr %q, want only %s...yaml", out, errOut, want)
			}
			if commands[out] {
				t.Errorf("got the command %q twice, want a new registration token each time", out)
			}
			commands[out] = true
			imports := c.srv.Find("POST", "/v1/clusters/prod/import")
			var got herdapi.ImportRequest
			if err := json.Unmarshal([]byte(imports[len(imports)-1].Body), &got); err != nil || got != tt.want {
				t.Errorf("request: got %+v, want %+v", got, tt.want)
			}
		})
	}
	c.fails("--grace-period -1m0s is negative", "", "clusters", "import-command", "prod", "--grace-period", "-1m")
	c.fails("cluster nope not found: see `herdctl clusters list`", "", "clusters", "import-command", "nope")
}
