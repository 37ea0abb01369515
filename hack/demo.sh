#!/usr/bin/env bash
# The main job: build Herd and the pinned Kubernetes, start a local cluster
# named "demo" with three kwok nodes and a Herd server in the background, log
# in with herdctl, register the demo cluster with the server, and show how
# to use it all.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make --no-print-directory kube build
kubectl="$root/_output/kube/$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' hack/kube/go.mod)/kubectl"
if ./bin/herd local-cluster list | awk 'NR>1 && $1=="demo" && $2=="running" {found=1} END {exit !found}'; then
  echo "local cluster demo is already running"
elif ./bin/herd local-cluster list | awk 'NR>1 && $1=="demo" {found=1} END {exit !found}'; then
  ./bin/herd local-cluster start demo --nodes 3
else
  ./bin/herd local-cluster create demo --nodes 3
fi
kubeconfig="$(mktemp)"
./bin/herd local-cluster kubeconfig demo > "$kubeconfig"
"$kubectl" --kubeconfig "$kubeconfig" get nodes -o wide

data="$HOME/.herd/demo-server"
addr="127.0.0.1:${HERD_DEMO_PORT:-8443}"
export HERDCONFIG="$data.herdctl-config"
if ! curl -skf "https://$addr/healthz" >/dev/null; then
  mkdir -p "$data"
  setsid nohup ./bin/herd server --data-dir "$data" --listen "$addr" --kube-bin-dir "$(dirname "$kubectl")" \
    >"$data.out" 2>"$data.log" </dev/null &
  echo "herd server starting (log: $data.log)"
  for _ in $(seq 120); do curl -skf "https://$addr/readyz" >/dev/null && break; sleep 1; done
fi
checksum="$(curl -skI "https://$addr/cacerts" | awk 'tolower($1)=="x-herd-ca-checksum:" {print $2}' | tr -d '\r')"
./bin/herdctl login "https://$addr" --username admin --password-stdin --ca-checksum "$checksum" <"$data/bootstrap-password"
if ! ./bin/herdctl clusters get demo >/dev/null 2>&1; then
  ./bin/herdctl clusters create demo --display-name "Demo cluster" >/dev/null
fi
connected() { ./bin/herdctl clusters get demo -o json | grep -q '"connected": "True"'; }
# A new import command ends the agent tokens of the earlier one (after an
# hour): import only when no agent is connected.
if ! connected; then
  KUBECONFIG="$kubeconfig" PATH="$(dirname "$kubectl"):$PATH" bash -o pipefail -c "$(./bin/herdctl clusters import-command demo)"
fi

# kwok's pods run no containers, so the agent that the manifest deploys runs
# here as a process, with the same service account and registration token.
if ! connected && ! pgrep -f "herd agent --server https://$addr" >/dev/null; then
  k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }
  agentkc="$data/agent.kubeconfig"
  umask 077
  cat >"$agentkc" <<KC
apiVersion: v1
kind: Config
clusters: [{name: demo, cluster: {server: "$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')", certificate-authority-data: "$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"}}]
users: [{name: agent, user: {token: "$(k -n herd-system create token herd-agent --duration=24h)"}}]
contexts: [{name: demo, context: {cluster: demo, user: agent}}]
current-context: demo
KC
  regtoken="$(k -n herd-system get secret herd-credentials -o jsonpath='{.data.token}' | base64 -d)"
  HERD_TOKEN="$regtoken" setsid nohup ./bin/herd agent --server "https://$addr" --ca-checksum "$checksum" --kubeconfig "$agentkc" \
    >"$data.agent.log" 2>&1 </dev/null &
fi
rm -f "$kubeconfig"
for _ in $(seq 30); do connected && break; sleep 1; done
./bin/herdctl clusters list
./bin/herdctl kubeconfig demo >"$data/demo.kubeconfig"
echo "kubectl through Herd:"
"$kubectl" --kubeconfig "$data/demo.kubeconfig" get nodes
cat <<MSG

The demo cluster and the Herd server run in the background.
  $kubectl --kubeconfig ~/.herd/local-clusters/demo/kubeconfig -n herd-system get pods
  HERDCONFIG=$HERDCONFIG ./bin/herdctl clusters list     # admin password: $data/bootstrap-password
  $kubectl --kubeconfig $data/demo.kubeconfig get pods -A        # through Herd
Stop and remove them with:
  pkill -f 'herd agent --server https://$addr'; pkill -f 'herd server --data-dir $data'; ./bin/herd local-cluster delete demo
MSG
