#!/usr/bin/env bash
# Builds the pinned Kubernetes components (hack/kube/go.mod) into _output/kube/<version>/.
# Does nothing when that version is already built. Usage: hack/build-kube.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
mod="$root/hack/kube"
version="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$mod/go.mod")"
kwok_version="$(awk '$1=="sigs.k8s.io/kwok"{print $2; exit}' "$mod/go.mod")"
# etcd for provisioned clusters' machines, at the version Herd's own module pins.
etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$root/go.mod")"
out="${1:-$root/_output/kube/$version}"
stamp="$out/.built"
want="components=apiserver,cm,scheduler,kubelet,kubectl,etcd kubernetes=$version kwok=$kwok_version etcd=$etcd_version go=$(go env GOVERSION) sum=$(cat "$mod/go.sum" "$mod/kwokstages/main.go" | sha256sum | cut -c1-16)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "kube: $version already built in $out"
  exit 0
fi
mkdir -p "$out"
rm -f "$stamp"
echo "kube: building Kubernetes $version and kwok $kwok_version into $out (takes a few minutes cold)"
start=$(date +%s)
cd "$mod"
export CGO_ENABLED=0
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2) -X k8s.io/client-go/pkg/version.gitVersion=$version"
go build -trimpath -ldflags "$ldflags" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$version" -o "$out/" sigs.k8s.io/kwok/cmd/kwok
go run ./kwokstages "$out/kwok-stages.yaml"
(cd "$root" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
echo "$want" > "$stamp"
echo "kube: built in $(( $(date +%s) - start ))s"
