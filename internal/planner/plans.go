package planner

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	v1 "herd.dev/herd/api/v1"
	"herd.dev/herd/internal/herdapi"
)

// Ports of a machine's components, on the machine's own address.
const (
	etcdClientPort = 2379
	etcdPeerPort   = 2380
	apiServerPort  = 6443
	kwokPort       = 10247
	podCIDRFormat  = "10.244.%d.0/24"
	machineAnno    = "management.herd.dev/machine"
)

// controllers are the kube-controller-manager controllers of a cluster
// whose nodes are simulated: everything but volumes, node IPAM and
// autoscaling.
const controllers = "*,-persistentvolume-attach-detach-controller,-persistentvolume-binder-controller,-persistentvolume-expander-controller," +
	"-persistentvolume-protection-controller,-persistentvolumeclaim-protection-controller,-ephemeral-volume-controller," +
	"-volumeattributesclass-protection-controller,-node-ipam-controller,-horizontal-pod-autoscaler-controller,-storage-version-migrator-controller"

// etcdPlan runs the cluster's (single) etcd member on m.
func etcdPlan(m *v1.Machine) herdapi.Plan {
	a := m.Spec.Address
	peer := fmt.Sprintf("http://%s:%d", a, etcdPeerPort)
	client := fmt.Sprintf("http://%s:%d", a, etcdClientPort)
	return herdapi.Plan{
		Processes: []herdapi.PlanProcess{{Name: "etcd", Command: "etcd", Args: []string{
			"--name=" + m.Spec.Hostname, "--data-dir=etcd-data",
			"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=" + m.Spec.Hostname + "=" + peer, "--initial-cluster-state=new",
		}}},
		Probes: []herdapi.PlanProbe{{Name: "etcd", URL: client + "/health"}},
	}
}

// etcdClientURL is m's etcd client URL.
func etcdClientURL(m *v1.Machine) string {
	return fmt.Sprintf("http://%s:%d", m.Spec.Address, etcdClientPort)
}

// etcdJoinPlan adds m's member to the etcd cluster served at servers,
// then runs it with the initial cluster that the join wrote.
func etcdJoinPlan(m *v1.Machine, servers []string) herdapi.Plan {
	a := m.Spec.Address
	peer := fmt.Sprintf("http://%s:%d", a, etcdPeerPort)
	client := etcdClientURL(m)
	run := fmt.Sprintf(`exec etcd --name=%s --data-dir=etcd-data --listen-client-urls=%s --advertise-client-urls=%s `+
		`--listen-peer-urls=%s --initial-advertise-peer-urls=%s --initial-cluster="$(cat etcd-initial-cluster)" --initial-cluster-state=existing`,
		m.Spec.Hostname, client, client, peer, peer)
	return herdapi.Plan{
		Instructions: []herdapi.PlanInstruction{{Name: "etcd-join", Command: "herd", Args: []string{"etcd-join",
			"--endpoints=" + strings.Join(servers, ","), "--name=" + m.Spec.Hostname, "--peer-url=" + peer, "--out=etcd-initial-cluster",
			"--data-dir=etcd-data"}}},
		Processes: []herdapi.PlanProcess{{Name: "etcd", Command: "sh", Args: []string{"-c", run}}},
		Probes:    []herdapi.PlanProbe{{Name: "etcd", URL: client + "/health"}},
	}
}

// controlPlanePlan runs kube-apiserver, kube-controller-manager and
// kube-scheduler of Kubernetes version on m, with etcd at etcdServers.
func controlPlanePlan(m *v1.Machine, pki map[string][]byte, etcdServers []string, version string) herdapi.Plan {
	a := m.Spec.Address
	server := fmt.Sprintf("https://%s:%d", a, apiServerPort)
	plan := herdapi.Plan{}
	for _, f := range []string{fileCA, fileCAKey, fileAPIServer, fileAPIKey, fileSAKey, fileSAPub, fileAdmin, fileAdminKey} {
		plan.Files = append(plan.Files, herdapi.PlanFile{Path: "pki/" + f, Content: pki[f]})
	}
	for name, pair := range map[string][2]string{
		"admin": {fileAdmin, fileAdminKey}, "controller-manager": {fileController, fileControlKey}, "scheduler": {fileScheduler, fileSchedKey},
	} {
		plan.Files = append(plan.Files, herdapi.PlanFile{Path: "kubeconfigs/" + name + ".kubeconfig",
			Content: kubeconfig(server, pki[fileCA], pki[pair[0]], pki[pair[1]], "")})
	}
	slices.SortFunc(plan.Files, func(x, y herdapi.PlanFile) int { return strings.Compare(x.Path, y.Path) })
	clientFlags := func(kc string) []string {
		return []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
			"--secure-port=0", "--leader-elect=true", "--profiling=false"}
	}
	plan.Processes = []herdapi.PlanProcess{
		{Name: "kube-apiserver", Command: "kube-apiserver", Args: []string{
			"--etcd-servers=" + strings.Join(etcdServers, ","),
			"--bind-address=" + a, "--advertise-address=" + a, "--endpoint-reconciler-type=none",
			"--secure-port=" + strconv.Itoa(apiServerPort),
			"--tls-cert-file=pki/" + fileAPIServer, "--tls-private-key-file=pki/" + fileAPIKey, "--client-ca-file=pki/" + fileCA,
			"--service-account-key-file=pki/" + fileSAPub, "--service-account-signing-key-file=pki/" + fileSAKey,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--service-cluster-ip-range=" + serviceCIDR,
			"--authorization-mode=Node,RBAC", "--anonymous-auth=false", "--allow-privileged=true", "--profiling=false",
			"--cert-dir=pki/generated",
		}},
		{Name: "kube-controller-manager", Command: "kube-controller-manager", Args: append(clientFlags("kubeconfigs/controller-manager.kubeconfig"),
			"--use-service-account-credentials=true", "--service-account-private-key-file=pki/"+fileSAKey,
			"--root-ca-file=pki/"+fileCA, "--cluster-signing-cert-file=pki/"+fileCA, "--cluster-signing-key-file=pki/"+fileCAKey,
			"--service-cluster-ip-range="+serviceCIDR, "--controllers="+controllers)},
		{Name: "kube-scheduler", Command: "kube-scheduler", Args: clientFlags("kubeconfigs/scheduler.kubeconfig")},
	}
	for i := range plan.Processes {
		plan.Processes[i].Env = []string{herdapi.KubernetesVersionEnv + "=" + version}
	}
	plan.Probes = []herdapi.PlanProbe{{Name: "apiserver", URL: server + "/readyz", CACert: string(pki[fileCA]),
		ClientCert: "pki/" + fileAdmin, ClientKey: "pki/" + fileAdminKey}}
	return plan
}

// withClusterAgent adds to a control-plane plan what connects the new
// cluster to Herd, once its kube-apiserver answers: the import manifest,
// applied with kubectl, and the cluster agent as a process of the machine
// (its pods need a node that runs containers; this one needs none),
// with a token of the manifest's service account.
func withClusterAgent(plan herdapi.Plan, m *v1.Machine, pki map[string][]byte, manifest []byte, serverURL, checksum, regToken string) herdapi.Plan {
	server := fmt.Sprintf("https://%s:%d", m.Spec.Address, apiServerPort)
	admin := "--kubeconfig=kubeconfigs/admin.kubeconfig"
	plan.Files = append(plan.Files,
		herdapi.PlanFile{Path: "herd-import.yaml", Content: manifest},
		// A file, not the process's environment: a renewed token restarts
		// no agent (the agent reads it when it starts).
		herdapi.PlanFile{Path: "registration-token", Content: []byte(regToken + "\n")},
		herdapi.PlanFile{Path: "kubeconfigs/agent.kubeconfig", Content: kubeconfig(server, pki[fileCA], nil, nil, "../agent-token")})
	plan.Instructions = append(plan.Instructions,
		// The kube-apiserver may be starting (the machine's processes
		// start after its instructions): wait for it first.
		herdapi.PlanInstruction{Name: "wait-apiserver", Command: "sh", Args: []string{"-c",
			"for i in $(seq 60); do kubectl " + admin + " get --raw=/readyz --request-timeout=5s >/dev/null 2>&1 && exit 0; sleep 2; done; " +
				"echo 'kube-apiserver not ready after 2 minutes' >&2; exit 1"}},
		herdapi.PlanInstruction{Name: "import", Command: "kubectl", Args: []string{admin, "apply", "--server-side", "--force-conflicts", "-f", "herd-import.yaml"}},
		herdapi.PlanInstruction{Name: "agent-token", Command: "sh", Args: []string{"-c",
			"kubectl " + admin + " -n herd-system create token herd-agent --duration=8760h > agent-token.new && mv agent-token.new agent-token"}})
	plan.Processes = append(plan.Processes, herdapi.PlanProcess{Name: "cluster-agent", Command: "herd",
		Args: []string{"agent", "--server", serverURL, "--ca-checksum", checksum, "--kubeconfig", "kubeconfigs/agent.kubeconfig",
			"--token-file", "registration-token"}})
	return plan
}

// workerPlan registers m's node, which kwok keeps (a simulated node: it
// runs no containers), against the kube-apiserver at cpAddr.
func workerPlan(m *v1.Machine, pki map[string][]byte, cpAddr, version string, index int) (herdapi.Plan, error) {
	server := fmt.Sprintf("https://%s:%d", cpAddr, apiServerPort)
	node, err := nodeObject(m, version)
	if err != nil {
		return herdapi.Plan{}, err
	}
	kwok := fmt.Sprintf(`exec kwok --kubeconfig=kubeconfigs/admin.kubeconfig --config="$HERD_BIN_DIR/kwok-stages.yaml" `+
		`--manage-all-nodes=false --manage-nodes-with-annotation-selector=%s=%s --node-ip=%s --node-name=%s-kwok `+
		`--node-port=%d --server-address=%s:%d --node-lease-duration-seconds=40 --cidr=`+podCIDRFormat,
		machineAnno, m.Name, m.Spec.Address, m.Spec.Hostname, kwokPort, m.Spec.Address, kwokPort, index%250)
	return herdapi.Plan{
		Files: []herdapi.PlanFile{
			{Path: "kubeconfigs/admin.kubeconfig", Content: kubeconfig(server, pki[fileCA], pki[fileAdmin], pki[fileAdminKey], "")},
			{Path: "node.yaml", Content: node},
		},
		Instructions: []herdapi.PlanInstruction{
			{Name: "register-node", Command: "kubectl", Args: []string{"--kubeconfig=kubeconfigs/admin.kubeconfig", "apply", "-f", "node.yaml"}},
			// A registered node keeps its status through apply: the
			// kubelet version (after an upgrade) is set on it.
			{Name: "kubelet-version", Command: "kubectl", Args: []string{"--kubeconfig=kubeconfigs/admin.kubeconfig", "patch", "node", m.Spec.Hostname,
				"--subresource=status", "--type=merge", "-p", fmt.Sprintf(`{"status":{"nodeInfo":{"kubeletVersion":%q}}}`, version)}},
		},
		Processes: []herdapi.PlanProcess{{Name: "kwok", Command: "sh", Args: []string{"-c", kwok}, Env: []string{herdapi.KubernetesVersionEnv + "=" + version}}},
	}, nil
}

// nodeObject is m's Node: named by its hostname, with its roles, labels
// and taints, marked as kwok's (type=kwok, where Herd's own pods never go).
func nodeObject(m *v1.Machine, version string) ([]byte, error) {
	labels := map[string]string{"kubernetes.io/hostname": m.Spec.Hostname, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"}
	for _, r := range m.Spec.Roles {
		labels["node-role.kubernetes.io/"+r] = ""
	}
	maps.Copy(labels, m.Spec.Labels)
	var taints []map[string]string
	for _, t := range m.Spec.Taints {
		kv, effect, _ := strings.Cut(t, ":")
		k, v, _ := strings.Cut(kv, "=")
		taints = append(taints, map[string]string{"key": k, "value": v, "effect": effect})
	}
	node := map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{"name": m.Spec.Hostname, "labels": labels,
			"annotations": map[string]string{machineAnno: m.Name, "node.alpha.kubernetes.io/ttl": "0"}},
		"spec": map[string]any{"taints": taints},
		// kwok keeps the kubelet version a node has (else it reports its own).
		"status": map[string]any{"capacity": map[string]string{"cpu": "8", "memory": "32Gi", "pods": "110"},
			"nodeInfo": map[string]string{"kubeletVersion": version}},
	}
	return yaml.Marshal(node)
}

// kubeconfig reaches server trusting ca, with a client certificate or a
// token file (relative to the kubeconfig).
func kubeconfig(server string, ca, cert, key []byte, tokenFile string) []byte {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key, TokenFile: tokenFile}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	data, _ := clientcmd.Write(*cfg)
	return data
}

// merge joins the plans of a machine's roles.
func merge(plans ...herdapi.Plan) herdapi.Plan {
	var out herdapi.Plan
	for _, p := range plans {
		out.Files = append(out.Files, p.Files...)
		out.Instructions = append(out.Instructions, p.Instructions...)
		out.Processes = append(out.Processes, p.Processes...)
		out.Probes = append(out.Probes, p.Probes...)
	}
	return out
}
