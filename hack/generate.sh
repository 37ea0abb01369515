#!/usr/bin/env bash
# Generates deepcopy functions and CRD manifests with the pinned controller-gen
# (hack/tools/go.mod). Usage: hack/generate.sh [OUT_ROOT]  (default: the repository)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root}"
gen="$root/_output/tools/controller-gen"
(cd "$root/hack/tools" && go build -o "$gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
cd "$root"
if [[ "$out" != "$root" ]]; then
  mkdir -p "$out/api/v1" "$out/config/crd"
  cp api/v1/*.go "$out/api/v1/"
  rm -f "$out/api/v1/zz_generated.deepcopy.go"
fi
"$gen" object:headerFile="$root/hack/boilerplate.go.txt" paths="./api/..." output:object:dir="$out/api/v1"
"$gen" crd paths="./api/..." output:crd:dir="$out/config/crd"
