#!/usr/bin/env bash
# ps.sh - listing benchmark: `ps -a` over many created (not running)
# containers, skiff and (when installed) podman side by side. skiff is timed
# at PODMAN_COUNT and at COUNT containers; podman, whose `create` is much
# slower, at PODMAN_COUNT only, with a linear estimate for COUNT beside it.
#
# usage: contrib/bench/ps.sh [COUNT] [RUNS]   (default 1000 and 10; medians
#                                             are printed, fastest beside)
# Environment: PODMAN_COUNT (default 200; 0 skips podman), SKIFF (binary).
# Needs: a release build (cargo build --release --workspace),
# docker-registry, skopeo, jq, busybox-static (the fixture builder's
# tools). Root is not needed: nothing runs.
set -euo pipefail
COUNT=${1:-1000}
RUNS=${2:-10}
PODMAN_COUNT=${PODMAN_COUNT:-200}
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"
skiff=${SKIFF:-$top/target/release/skiff}

die() { echo "ps.sh: $*" >&2; exit 1; }
[[ -x $skiff ]] || die "build first: cargo build --release --workspace"
for t in docker-registry skopeo jq curl python3; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash 5 (EPOCHREALTIME)"
((PODMAN_COUNT <= COUNT)) || PODMAN_COUNT=$COUNT

work=$(mktemp -d -t skiff-bench-ps.XXXXXX)
regpid=
podman_on=
sk() { "$skiff" --root "$work/skiff/root" --runroot "$work/skiff/run" "$@"; }
pm() { podman --root "$work/podman/root" --runroot "$work/podman/run" "$@"; }
cleanup() {
    # (a failing last command here would end the trap under set -e)
    stop_registry
    if [[ -n $podman_on ]]; then
        pm rm -af >/dev/null 2>&1 || true
        pm rmi -af >/dev/null 2>&1 || true
    fi
    unmount_under "$work"
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

start_registry

# time_ps CMD...: "median fastest" of RUNS runs (one untimed run first)
time_ps() {
    local t=() i
    "$@" >/dev/null
    for i in $(seq "$RUNS"); do t+=("$(elapsed "$@")"); done
    echo "$(printf '%s\n' "${t[@]}" | median) $(printf '%s\n' "${t[@]}" | fastest)"
}
# create_n N CMD...: create containers with CMD until there are N; prints
# the µs per create
create_n() {
    local n=$1 have t0 t1
    shift
    have=$("$@" ps -aq | wc -l)
    ((have < n)) || { echo 0; return; }
    t0=$EPOCHREALTIME
    for _ in $(seq $((n - have))); do "$@" create "$ref" true >/dev/null; done
    t1=$EPOCHREALTIME
    echo $(( (${t1/./} - ${t0/./}) / (n - have) ))
}
row() { # LABEL "median fastest" [NOTE]
    read -r m f <<<"$2"
    printf '  %-34s %8s ms (%s)%s\n' "$1" "$(ms "$m")" "$(ms "$f")" "${3:+   $3}"
}

sk pull -q --tls-verify=false "$ref" >/dev/null
echo "ps -a over created containers: median (fastest) of $RUNS runs"

if command -v podman >/dev/null && ((PODMAN_COUNT > 0)); then
    podman_on=1
    printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
    export CONTAINERS_CONF=$work/containers.conf
    pm pull -q --tls-verify=false "$ref" >/dev/null
    p0=$(time_ps pm ps -a)
    pc=$(create_n "$PODMAN_COUNT" pm)
    sc=$(create_n "$PODMAN_COUNT" sk)
    p=$(time_ps pm ps -a)
    s=$(time_ps sk ps -a)
    row "skiff ps -a, $PODMAN_COUNT containers" "$s"
    read -r pmed _ <<<"$p"
    read -r smed _ <<<"$s"
    row "podman ps -a, $PODMAN_COUNT containers" "$p" \
        "$(awk -v a="$pmed" -v b="$smed" 'BEGIN{printf "skiff is %.1fx faster", a/b}')"
    printf '  %-34s %8s ms skiff, %s ms podman\n' "create (one container)" "$(ms "$sc")" "$(ms "$pc")"
fi

create_n "$COUNT" sk >/dev/null
s=$(time_ps sk ps -a)
row "skiff ps -a, $COUNT containers" "$s" "(target: under 50 ms)"
row "skiff ps -a --format json" "$(time_ps sk ps -a --format json)"
row "skiff ps -aq" "$(time_ps sk ps -aq)"
row "skiff --version (process floor)" "$(time_ps sk --version)"
if [[ -n $podman_on ]]; then
    # podman at COUNT, estimated: its time with no container plus COUNT
    # times what each of the PODMAN_COUNT added.
    read -r smed _ <<<"$s"
    read -r p0med _ <<<"$p0"
    awk -v p="$pmed" -v p0="$p0med" -v n="$PODMAN_COUNT" -v c="$COUNT" -v s="$smed" \
        'BEGIN {e = p0 + (p - p0) * c / n
                printf "  %-34s %8.0f ms   (estimated from 0 and %d; skiff is ~%.0fx faster)\n",
                       "podman ps -a, " c, e/1000, n, e/s}'
fi
