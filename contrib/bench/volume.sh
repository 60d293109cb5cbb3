#!/usr/bin/env bash
# volume.sh - volumes and files in and out, root and rootless, skiff and
# podman side by side on the busybox fixture from a local registry. Each
# case is one bash body run RUNS times (after WARMUP runs) with the engine
# command as "$@", the image as $ref and the run's number as $i; it prints
# what it read back, which must equal the case's expected text (a wrong
# answer fails the benchmark). Cases:
#
#   volume  volume create; run --rm -v V:/skiff (copy-up of the image's
#           /skiff into the new volume, then a write); run --rm -v
#           V:/skiff:ro reading it back; volume rm
#   cp      create a container; cp a host directory of 200 files (8 MiB)
#           into it and back out; rm (the container never runs)
#   commit  run a container that writes a file; commit it; run the new
#           image reading the file; rm and rmi
#
# usage: contrib/bench/volume.sh [RUNS]   (default 10; medians, with the
#                                          fastest run beside them)
# Needs: root, a release build (cargo build --release --workspace; SKIFF
# overrides the binary, skiff-conmon and skiff-init are found beside it),
# the user skifftest with a subordinate id range, docker-registry, skopeo,
# jq, curl, python3, busybox-static. podman (with runc, as in publish.sh)
# is compared when installed (SKIFF_BENCH_PODMAN=0 leaves it out). All
# containers run with --network none: this measures storage, not networks.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-10}
WARMUP=2
USER_NAME=${SKIFF_BENCH_USER:-skifftest}
die() { echo "volume.sh: $*" >&2; exit 1; }
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"

side_by_side volume '[containers]\ndefault_ulimits = []\nnetns = "none"\n'

# The tree cp copies: 200 files of 40 KiB.
mkdir -p "$work/tree"
for f in $(seq 200); do head -c 40960 /dev/urandom >"$work/tree/f$f"; done
chmod -R a+rX "$work/tree"
install -d -m 1777 "$work/tree-out"
tree_sum=$(cd "$work/tree" && cat $(ls | sort) | sha256sum | cut -c1-16)

# The cases: NAME, the expected output of one run, and the body.
declare -A EXPECT BODY
CASES=(volume cp commit)
EXPECT[volume]="hello from skiff-test"
# shellcheck disable=SC2016 # expanded by the inner shell
BODY[volume]='
    v=bench-v$i
    "$@" volume create "$v" >/dev/null
    "$@" run --rm -v "$v:/skiff" "$ref" sh -c "cat /skiff/hello.txt > /skiff/copy" >/dev/null
    "$@" run --rm -v "$v:/skiff:ro" "$ref" cat /skiff/copy
    "$@" volume rm "$v" >/dev/null'

EXPECT[cp]=$tree_sum
# shellcheck disable=SC2016 # expanded by the inner shell
BODY[cp]='
    c=bench-cp$i out=$tree-out/o$i
    "$@" create --name "$c" "$ref" true >/dev/null
    "$@" cp "$tree" "$c:/tree"
    "$@" cp "$c:/tree" "$out"
    "$@" rm "$c" >/dev/null
    (cd "$out" && cat $(ls | sort) | sha256sum | cut -c1-16)
    rm -rf "$out"'
EXPECT[commit]="committed"
# shellcheck disable=SC2016 # expanded by the inner shell
BODY[commit]='
    c=bench-cm$i img=localhost/bench-commit$i
    "$@" run --name "$c" "$ref" sh -c "echo committed > /note" >/dev/null
    "$@" commit -q "$c" "$img" >/dev/null
    "$@" run --rm "$img" cat /note
    "$@" rm "$c" >/dev/null
    "$@" rmi "$img" >/dev/null'

# time_case RUNNER CASE ENGINE...: microseconds per measured run.
time_case() {
    local runner=$1 case=$2; shift 2
    # shellcheck disable=SC2016 # expanded by the inner shell, as RUNNER
    "$runner" bash -c '
        n=$1; ref=$2; want=$3; body=$4; tree=$5; shift 5
        for i in $(seq "$n"); do
            t0=$EPOCHREALTIME
            got=$(eval "$body") || { echo "run $i failed: $*" >&2; exit 1; }
            t1=$EPOCHREALTIME
            [[ $got == "$want" ]] || { echo "run $i read \"$got\", not \"$want\": $*" >&2; exit 1; }
            echo $(( ${t1/./} - ${t0/./} ))
        done' sh "$((WARMUP + RUNS))" "$ref" "${EXPECT[$case]}" "${BODY[$case]}" "$work/tree" "$@" | tail -n "$RUNS"
}

as_root "${sk_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
as_user "${sk_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
if [[ -n $podman_on ]]; then
    as_root "${pm_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
    as_user "${pm_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
fi

echo "median (fastest) of $RUNS runs, after $WARMUP warm-up runs"
for case in "${CASES[@]}"; do
    echo "$case:"
    for who in root user; do
        runner=as_$who
        if [[ $who == root ]]; then sk=("${sk_root[@]}") pm=("${pm_root[@]}"); else sk=("${sk_user[@]}") pm=("${pm_user[@]}"); fi
        mapfile -t a < <(time_case "$runner" "$case" "${sk[@]}")
        measured "$case $who skiff" "${a[@]}"
        line "$who: skiff" "${a[@]}"
        if [[ -n $podman_on ]]; then
            mapfile -t b < <(time_case "$runner" "$case" "${pm[@]}" --runtime runc)
            measured "$case $who podman" "${b[@]}"
            line "$who: podman" "${b[@]}"
            printf '  %-44s %8s\n' "$who: podman / skiff" "$(ratio "$(printf '%s\n' "${b[@]}")" "$(median <<<"$(printf '%s\n' "${a[@]}")")")"
        fi
    done
done
