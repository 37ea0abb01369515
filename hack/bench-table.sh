#!/usr/bin/env bash
# Prints `go test -bench` output (file or stdin) as a Markdown table: one
# row per benchmark, its figures as "value unit" cells.
set -euo pipefail
awk '
/^pkg: / { pkg = $2; sub(/^herd\.dev\/herd\//, "", pkg) }
/^Benchmark/ {
  name = $1; sub(/-[0-9]+$/, "", name)
  cells = ""
  for (i = 3; i < NF; i += 2) cells = cells (cells == "" ? "" : ", ") $i " " $(i + 1)
  rows[++n] = "| " pkg " | " name " | " $2 " | " cells " |"
}
END {
  print "| package | benchmark | runs | figures |"
  print "| --- | --- | --- | --- |"
  for (i = 1; i <= n; i++) print rows[i]
}' "${1:-/dev/stdin}"
