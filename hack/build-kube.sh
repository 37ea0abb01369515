#!/usr/bin/env bash
# Builds the pinned Kubernetes versions into _output/kube/<version>/:
#  - hack/kube (the current version): kube-apiserver, kube-controller-manager,
#    kube-scheduler, kubelet, kubectl, kwok with its stages, and etcd;
#  - hack/kube-previous (the previous minor, which provisioned clusters
#    upgrade from): the Kubernetes components only (machines take kwok and
#    etcd from the current version's folder).
# Each version is built once; a stamp says with what.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# etcd for provisioned clusters' machines, at the version Herd's own module pins.
etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$root/go.mod")"
export CGO_ENABLED=0

# ticker WHAT COLD_SECONDS: prints, every 30 s until killed, how long WHAT
# has taken and about how long a cold build of it takes on 2 cores (go
# build shows nothing while it compiles).
ticker() {
  local what="$1" cold="$2" start now sp=""
  start=$(date +%s)
  trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 &
    sp=$!
    wait "$sp"
    now=$(date +%s)
    echo "kube: still building $what: $(( now - start ))s so far (a cold build takes about $(( cold / 60 )) min on 2 cores, a cached one seconds)"
  done
}

# step WHAT COLD_SECONDS CMD...: runs CMD with a ticker.
step() {
  local what="$1" cold="$2" pid rc=0
  shift 2
  echo "kube: building $what"
  ticker "$what" "$cold" &
  pid=$!
  "$@" || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$rc"
}

# build MODULE_DIR WITH_TOOLS(yes|no)
build() {
  local mod="$1" tools="$2"
  local version kwok_version out stamp want start minor
  version="$(awk '$1=="require"{$1=""; $0=$0} $1=="k8s.io/kubernetes"{print $2; exit}' "$mod/go.mod")"
  kwok_version="$(awk '$1=="sigs.k8s.io/kwok"{print $2; exit}' "$mod/go.mod")"
  out="$root/_output/kube/$version"
  stamp="$out/.built"
  want="components=apiserver,cm,scheduler,kubelet,kubectl tools=$tools kubernetes=$version kwok=$kwok_version etcd=$etcd_version go=$(go env GOVERSION) sum=$(cat "$mod/go.sum" "$mod"/*.go "$root/hack/kube/kwokstages/main.go" | sha256sum | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "kube: $version already built in $out"
    return
  fi
  mkdir -p "$out"
  rm -f "$stamp"
  echo "kube: building Kubernetes $version into $out (takes a few minutes cold)"
  start=$(date +%s)
  minor="$(echo "$version" | cut -d. -f2)"
  step "Kubernetes $version (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl)" 330 \
    go build -C "$mod" -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$version" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet \
    k8s.io/kubernetes/cmd/kubectl
  if [[ "$tools" == yes ]]; then
    step "kwok $kwok_version" 60 go build -C "$mod" -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=$version" -o "$out/" sigs.k8s.io/kwok/cmd/kwok
    (cd "$mod" && go run ./kwokstages "$out/kwok-stages.yaml")
    step "etcd $etcd_version" 60 go build -C "$root" -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  fi
  echo "$want" > "$stamp"
  echo "kube: $version built in $(( $(date +%s) - start ))s"
}

build "$root/hack/kube" yes
build "$root/hack/kube-previous" no
