#!/usr/bin/env bash
# run.sh - start-up benchmark: `run --rm IMAGE true` end to end, skiff and
# (when installed) podman side by side on the same busybox image from a
# local registry, both with runc, plus runc's own create + start + delete of
# the same bundle (skiff's config.json, a copy of the image's root
# filesystem) as the floor any engine driving runc pays.
#
# podman runs with --network none: skiff gives a container a private
# network namespace with loopback only, which is what --network none asks
# podman for (its default bridge network also costs a netavark/CNI run and
# changes the host's firewall). Set PODMAN_NETWORK to another value to
# compare against that.
#
# usage: contrib/bench/run.sh [RUNS]     (default 10; medians are printed,
#                                         with the fastest run beside them)
# Needs: root (runc), runc, a release build (cargo build --release
# --workspace; SKIFF overrides the binary, skiff-conmon is found beside it),
# docker-registry, skopeo, jq, busybox-static (the fixture builder's tools).
set -euo pipefail
RUNS=${1:-10}
WARMUP=2
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"
skiff=${SKIFF:-$top/target/release/skiff}

die() { echo "run.sh: $*" >&2; exit 1; }
[[ -x $skiff ]] || die "build first: cargo build --release --workspace"
[[ $(id -u) == 0 ]] || die "needs root (containers are created with runc as root)"
runc=$(command -v runc || true)
[[ -n $runc ]] || die "runc is not installed (apt-get install runc)"
for t in docker-registry skopeo jq curl python3; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
[[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash 5 (EPOCHREALTIME)"

# Monitors daemonize and are orphaned when their container exits; become a
# subreaper so that they are reaped (the setting survives exec).
if [[ -z ${SKIFF_BENCH_REAPER:-} ]]; then
    export SKIFF_BENCH_REAPER=1
    exec python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execvp("bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

work=$(mktemp -d -t skiff-bench-run.XXXXXX)
regpid=
podman_on=
sk() { "$skiff" --root "$work/skiff/root" --runroot "$work/skiff/run" "$@"; }
pm() { podman --root "$work/podman/root" --runroot "$work/podman/run" "$@"; }
cleanup() {
    # (a failing last command here would end the trap under set -e)
    stop_registry
    "$runc" --root "$work/runc-state" delete -f bench-ref >/dev/null 2>&1 || true
    sk rm -af -t 0 >/dev/null 2>&1 || true
    if [[ -n $podman_on ]]; then
        pm rm -af -t 0 >/dev/null 2>&1 || true
        pm rmi -af >/dev/null 2>&1 || true
    fi
    # Whatever is still mounted under the scratch directory (podman keeps
    # its storage's own mounts) goes before it is removed.
    unmount_under "$work"
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

start_registry

sub() { awk -v a="$1" -v b="$2" 'BEGIN {print a - b}'; }

# --- skiff
sk pull -q --tls-verify=false "$ref" >/dev/null

# --- podman (private store, ulimits the caller has: root lacks
# CAP_SYS_RESOURCE on some hosts, and podman's default nofile limit is
# above what it may set there)
if command -v podman >/dev/null; then
    podman_on=1
    printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
    export CONTAINERS_CONF=$work/containers.conf
    pm pull -q --tls-verify=false "$ref" >/dev/null
fi
net=${PODMAN_NETWORK:-none}

# --- runc: skiff's bundle for `true`, over a copy of the mounted root
# filesystem (taken from a running container, which is then removed)
cid=$(sk run -d "$ref" sleep 600)
bundle=$work/bundle
mkdir -p "$bundle"
cp -a "$work/skiff/run/containers/$cid/rootfs" "$bundle/rootfs"
jq --arg root "$bundle/rootfs" '.root.path = $root | .process.args = ["true"] | .process.terminal = false' \
    "$work/skiff/run/containers/$cid/config.json" >"$bundle/config.json"
sk rm -f -t 0 "$cid" >/dev/null
runc_once() {
    "$runc" --root "$work/runc-state" create --bundle "$bundle" bench-ref </dev/null >/dev/null 2>&1 &&
        "$runc" --root "$work/runc-state" start bench-ref &&
        "$runc" --root "$work/runc-state" delete -f bench-ref
}

sk_t=(); pm_t=(); rc_t=()
for i in $(seq $((WARMUP + RUNS))); do
    s=$(elapsed sk run --rm "$ref" true)
    r=$(elapsed runc_once)
    if [[ -n $podman_on ]]; then
        p=$(elapsed pm run --rm --runtime runc --network "$net" "$ref" true)
    fi
    ((i > WARMUP)) || continue
    sk_t+=("$s"); rc_t+=("$r")
    [[ -n $podman_on ]] && pm_t+=("$p")
done
left=$(sk ps -aq | wc -l)
((left == 0)) || echo "warning: skiff left $left containers behind" >&2

s=$(printf '%s\n' "${sk_t[@]}" | median)
r=$(printf '%s\n' "${rc_t[@]}" | median)
echo "run --rm $ref true: median (fastest) of $RUNS runs, after $WARMUP warm-up runs"
printf '  %-36s %8s ms (%s)\n' "runc create+start+delete" "$(ms "$r")" "$(ms "$(printf '%s\n' "${rc_t[@]}" | fastest)")"
printf '  %-36s %8s ms (%s)   %s ms over runc\n' "skiff run --rm" "$(ms "$s")" \
    "$(ms "$(printf '%s\n' "${sk_t[@]}" | fastest)")" "$(ms "$(sub "$s" "$r")")"
if [[ -n $podman_on ]]; then
    p=$(printf '%s\n' "${pm_t[@]}" | median)
    printf '  %-36s %8s ms (%s)   %s ms over runc; skiff is %.2fx faster\n' \
        "podman run --rm --network $net" "$(ms "$p")" \
        "$(ms "$(printf '%s\n' "${pm_t[@]}" | fastest)")" "$(ms "$(sub "$p" "$r")")" \
        "$(awk -v a="$p" -v b="$s" 'BEGIN{print a/b}')"
    # No engine that drives the runtime's command line can beat the
    # runtime's own create + start + delete.
    printf '  %-36s %8.2fx (podman / runc)\n' "best ratio any runc engine can reach" \
        "$(awk -v a="$p" -v b="$r" 'BEGIN{print a/b}')"
else
    echo "  podman not installed: no comparison"
fi
