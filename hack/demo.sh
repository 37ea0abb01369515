#!/usr/bin/env bash
# The main job: build Herd, its image and the pinned Kubernetes, start a local
# cluster named "demo" (three kwok nodes and two real nodes that run Herd's
# image) and a Herd server in the background, log in with herdctl, import the
# demo cluster with its import command (the agents then run on the real
# nodes), and show how to use it all. Running it again reuses what runs;
# `bin/herd demo down` stops and removes everything it started.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
make --no-print-directory kube build image
hack/install-deps.sh containerd runc containernetworking-plugins iproute2
kubectl="$root/_output/kube/$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' hack/kube/go.mod)/kubectl"
cluster_flags=(--nodes 3 --real-nodes 2 --image-archive "$root/_output/herd-image-dev.tar")
if ./bin/herd local-cluster list | awk 'NR>1 && $1=="demo" && $2=="running" {found=1} END {exit !found}'; then
  echo "local cluster demo is already running"
elif ./bin/herd local-cluster list | awk 'NR>1 && $1=="demo" {found=1} END {exit !found}'; then
  ./bin/herd local-cluster start demo "${cluster_flags[@]}"
else
  ./bin/herd local-cluster create demo "${cluster_flags[@]}"
fi
kubeconfig="$(mktemp)"
trap 'rm -f "$kubeconfig"' EXIT
./bin/herd local-cluster kubeconfig demo > "$kubeconfig"
"$kubectl" --kubeconfig "$kubeconfig" get nodes -o wide

data="$HOME/.herd/demo-server"
addr="127.0.0.1:${HERD_DEMO_PORT:-8443}"
export HERDCONFIG="$data.herdctl-config"
if ! curl -skf "https://$addr/healthz" >/dev/null; then
  mkdir -p "$data"
  setsid nohup ./bin/herd server --data-dir "$data" --listen "$addr" --kube-bin-dir "$(dirname "$kubectl")" \
    >"$data.out" 2>"$data.log" </dev/null &
  echo $! >"$data.pid"
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
# hour): import only when no agent is connected. The agents then start on
# the real nodes from Herd's image, register and connect.
if ! connected; then
  KUBECONFIG="$kubeconfig" PATH="$(dirname "$kubectl"):$PATH" bash -o pipefail -c "$(./bin/herdctl clusters import-command demo)"
fi
for _ in $(seq 120); do connected && break; sleep 1; done
"$kubectl" --kubeconfig "$kubeconfig" -n herd-system get pods -o wide
./bin/herdctl clusters list
./bin/herdctl kubeconfig demo >"$data/demo.kubeconfig"
echo "kubectl through Herd:"
"$kubectl" --kubeconfig "$data/demo.kubeconfig" get nodes
cat <<MSG

The demo cluster and the Herd server run in the background.
  $kubectl --kubeconfig ~/.herd/local-clusters/demo/kubeconfig -n herd-system get pods
  HERDCONFIG=$HERDCONFIG ./bin/herdctl clusters get demo   # admin password: $data/bootstrap-password
  $kubectl --kubeconfig $data/demo.kubeconfig get pods -A        # through Herd
Stop and remove all of it with:
  ./bin/herd demo down
MSG
