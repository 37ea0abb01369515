#!/usr/bin/env bash
# The main job for now: build Herd and the pinned Kubernetes, start a local
# cluster named "demo" with three kwok nodes, and show how to use it.
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
rm -f "$kubeconfig"
cat <<MSG

The demo cluster runs in the background. Use it with:
  $kubectl --kubeconfig ~/.herd/local-clusters/demo/kubeconfig get pods -A
Stop and remove it with:
  ./bin/herd local-cluster delete demo
MSG
