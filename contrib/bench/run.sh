#!/usr/bin/env bash
# run.sh - start-up benchmark: `run --rm IMAGE true` end to end, skiff (with
# runc and with its built-in runtime) and (when installed) podman side by
# side on the same busybox image from a local registry, plus each runtime's
# own create + start + delete of the same bundle (skiff's config.json with
# podman's seccomp profile, a copy of the image's root filesystem): runc,
# crun when installed, and `skiff runtime`.
#
# crun refuses a hybrid cgroup host (v1 controllers beside a v2 mount): the
# whole benchmark then runs in a private mount namespace without the v2
# mount, so every engine and runtime sees the same host.
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

crun=$(command -v crun || true)
if [[ -n $crun && -z ${SKIFF_BENCH_MNTNS:-} ]] && mountpoint -q /sys/fs/cgroup/unified; then
    export SKIFF_BENCH_MNTNS=1
    exec unshare -m bash -c 'umount /sys/fs/cgroup/unified && exec bash "$0" "$@"' "$0" "$@"
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
    [[ -z $crun ]] || "$crun" --root "$work/crun-state" delete -f bench-ref >/dev/null 2>&1 || true
    "$skiff" runtime --root "$work/skr-state" delete -f bench-ref >/dev/null 2>&1 || true
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
# bundle_once RUNTIME STATE...: create + start + delete of the bundle.
bundle_once() {
    local state=$1; shift
    "$@" --root "$state" create --bundle "$bundle" bench-ref </dev/null >/dev/null 2>&1 &&
        "$@" --root "$state" start bench-ref &&
        "$@" --root "$state" delete -f bench-ref
}
runc_once() { bundle_once "$work/runc-state" "$runc"; }
crun_once() { bundle_once "$work/crun-state" "$crun"; }
skr_once() { bundle_once "$work/skr-state" "$skiff" runtime; }

sk_t=(); sb_t=(); pm_t=(); rc_t=(); cr_t=(); sr_t=()
for i in $(seq $((WARMUP + RUNS))); do
    s=$(elapsed sk run --rm --runtime runc "$ref" true)
    b=$(elapsed sk run --rm --runtime skiff "$ref" true)
    r=$(elapsed runc_once)
    x=$(elapsed skr_once)
    [[ -z $crun ]] || c=$(elapsed crun_once)
    if [[ -n $podman_on ]]; then
        p=$(elapsed pm run --rm --runtime runc --network "$net" "$ref" true)
    fi
    ((i > WARMUP)) || continue
    sk_t+=("$s"); sb_t+=("$b"); rc_t+=("$r"); sr_t+=("$x")
    [[ -z $crun ]] || cr_t+=("$c")
    [[ -n $podman_on ]] && pm_t+=("$p")
done
left=$(sk ps -aq | wc -l)
((left == 0)) || echo "warning: skiff left $left containers behind" >&2

s=$(printf '%s\n' "${sk_t[@]}" | median)
b=$(printf '%s\n' "${sb_t[@]}" | median)
r=$(printf '%s\n' "${rc_t[@]}" | median)
x=$(printf '%s\n' "${sr_t[@]}" | median)
line() { printf '  %-36s %8s ms (%s)%s\n' "$1" "$(ms "$2")" "$(ms "$(printf '%s\n' "${@:3}" | fastest)")" "${EXTRA:-}"; }
echo "run --rm $ref true: median (fastest) of $RUNS runs, after $WARMUP warm-up runs"
echo " the same bundle, create + start + delete:"
line "runc" "$r" "${rc_t[@]}"
if [[ -n $crun ]]; then
    c=$(printf '%s\n' "${cr_t[@]}" | median)
    line "crun" "$c" "${cr_t[@]}"
fi
line "skiff runtime" "$x" "${sr_t[@]}"
echo " end to end:"
EXTRA="   $(ms "$(sub "$s" "$r")") ms over runc" line "skiff run --rm --runtime runc" "$s" "${sk_t[@]}"
line "skiff run --rm --runtime skiff" "$b" "${sb_t[@]}"
if [[ -n $podman_on ]]; then
    p=$(printf '%s\n' "${pm_t[@]}" | median)
    printf '  %-36s %8s ms (%s)   %s ms over runc; skiff is %.2fx faster\n' \
        "podman run --rm --network $net" "$(ms "$p")" \
        "$(ms "$(printf '%s\n' "${pm_t[@]}" | fastest)")" "$(ms "$(sub "$p" "$r")")" \
        "$(awk -v a="$p" -v b="$s" 'BEGIN{print a/b}')"
    printf '  %-36s %8.2fx\n' "podman / skiff with its runtime" "$(awk -v a="$p" -v b="$b" 'BEGIN{print a/b}')"
    # No engine that drives the runtime's command line can beat the
    # runtime's own create + start + delete.
    printf '  %-36s %8.2fx (podman / runc)\n' "best ratio any runc engine can reach" \
        "$(awk -v a="$p" -v b="$r" 'BEGIN{print a/b}')"
else
    echo "  podman not installed: no comparison"
fi
