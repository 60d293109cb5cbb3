#!/usr/bin/env bash
# rootless.sh - rootless start-up benchmark: `run --rm IMAGE true` by an
# unprivileged user, skiff and (when installed) rootless podman side by side
# on the same busybox image from a local registry, both with runc and no
# network (--network none for podman: skiff's container gets a private
# network namespace with loopback only). Also the cost of joining skiff's
# user namespace on its own, as skiff measures it (--log-level debug).
#
# usage: contrib/bench/rootless.sh [RUNS]   (default 10; medians, with the
#                                           fastest run beside them)
# Run as root: the benchmark runs as $SKIFF_BENCH_USER (default skifftest,
# which needs /etc/subuid and /etc/subgid ranges). Needs a release build
# (cargo build --release --workspace; SKIFF overrides the binary, its
# helpers are found beside it), runc, docker-registry, skopeo, jq.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-10}
WARMUP=2
USER_NAME=${SKIFF_BENCH_USER:-skifftest}
die() { echo "rootless.sh: $*" >&2; exit 1; }
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"

[[ $(id -u) == 0 ]] || die "run as root (the benchmark switches to $USER_NAME)"
id -u "$USER_NAME" >/dev/null 2>&1 || die "no user $USER_NAME (useradd -m $USER_NAME)"
skiff=${SKIFF:-$top/target/release/skiff}
[[ -x $skiff ]] || die "no release build at $skiff (cargo build --release --workspace)"
for t in docker-registry skopeo jq curl python3 runc; do
    command -v "$t" >/dev/null || die "$t is not installed"
done

work=$(mktemp -d -t skiff-bench-rootless.XXXXXX)
chmod 755 "$work"
regpid=
cleanup() {
    stop_registry
    as_user "$work/bin/skiff" --root "$work/u/skiff/root" --runroot "$work/u/xdg/skiff" \
        system reset -f >/dev/null 2>&1 || true
    if command -v podman >/dev/null; then
        as_user podman --root "$work/u/podman/root" --runroot "$work/u/xdg/podman" \
            system reset -f >/dev/null 2>&1 || true
    fi
    pkill -u "$USER_NAME" -f "$work" 2>/dev/null || true
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# The user's own copies of the binaries and a home of its own.
mkdir -p "$work/bin"
cp "$skiff" "$(dirname "$skiff")/skiff-conmon" "$(dirname "$skiff")/skiff-init" "$work/bin/"
install -d -o "$USER_NAME" "$work/u" "$work/u/home"
install -d -m 700 -o "$USER_NAME" "$work/u/xdg"
as_user() {
    runuser -u "$USER_NAME" -- env -i PATH="$work/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
        HOME="$work/u/home" XDG_RUNTIME_DIR="$work/u/xdg" LANG=C.UTF-8 \
        CONTAINERS_CONF="$work/u/containers.conf" "$@"
}
printf '[containers]\ndefault_ulimits = []\n' >"$work/u/containers.conf"
chmod 644 "$work/u/containers.conf"

start_registry
chmod -R a+rX "$work"

# One loop per engine in one shell of the user (runuser's own start-up is
# not timed); prints one duration in µs per run.
timed_runs() {
    as_user bash -c '
        n=$1; shift
        for _ in $(seq "$n"); do
            t0=$EPOCHREALTIME
            "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
            t1=$EPOCHREALTIME
            echo $(( ${t1/./} - ${t0/./} ))
        done' sh "$@"
}
sk=("$work/bin/skiff" --root "$work/u/skiff/root" --runroot "$work/u/xdg/skiff")
pm=(podman --root "$work/u/podman/root" --runroot "$work/u/xdg/podman")

as_user "${sk[@]}" pull -q --tls-verify=false "$ref" >/dev/null
podman_on=
if command -v podman >/dev/null &&
    as_user "${pm[@]}" pull -q --tls-verify=false "$ref" >/dev/null 2>"$work/podman.err"; then
    podman_on=1
fi

sk_t=(); sb_t=(); pm_t=()
for _ in $(seq $((WARMUP + RUNS))); do
    sk_t+=("$(timed_runs 1 "${sk[@]}" run --rm --runtime runc "$ref" true)")
    sb_t+=("$(timed_runs 1 "${sk[@]}" run --rm --runtime skiff "$ref" true)")
    if [[ -n $podman_on ]]; then
        pm_t+=("$(timed_runs 1 "${pm[@]}" run --rm --runtime runc --network none "$ref" true)")
    fi
done
sk_t=("${sk_t[@]:WARMUP}")
sb_t=("${sb_t[@]:WARMUP}")
[[ -n $podman_on ]] && pm_t=("${pm_t[@]:WARMUP}")

# Joining the namespace, as skiff reports it.
join_t=()
for _ in $(seq "$RUNS"); do
    line=$(as_user "${sk[@]}" --log-level debug ps -q 2>&1 | grep -o 'in [0-9]* us' | head -1)
    join_t+=("$(echo "$line" | tr -dc '0-9')")
done

s=$(printf '%s\n' "${sk_t[@]}" | median)
b=$(printf '%s\n' "${sb_t[@]}" | median)
echo "rootless run --rm $ref true, as $USER_NAME: median (fastest) of $RUNS runs"
printf '  %-40s %8s ms (%s)\n' "skiff run --rm --runtime runc" "$(ms "$s")" "$(ms "$(printf '%s\n' "${sk_t[@]}" | fastest)")"
printf '  %-40s %8s ms (%s)\n' "skiff run --rm --runtime skiff" "$(ms "$b")" "$(ms "$(printf '%s\n' "${sb_t[@]}" | fastest)")"
if [[ -n $podman_on ]]; then
    p=$(printf '%s\n' "${pm_t[@]}" | median)
    printf '  %-40s %8s ms (%s)   skiff is %.2fx faster (%.2fx with its runtime)\n' "podman run --rm --network none" \
        "$(ms "$p")" "$(ms "$(printf '%s\n' "${pm_t[@]}" | fastest)")" \
        "$(awk -v a="$p" -v b="$s" 'BEGIN{print a/b}')" "$(awk -v a="$p" -v b="$b" 'BEGIN{print a/b}')"
else
    echo "  rootless podman unavailable: $(head -1 "$work/podman.err" 2>/dev/null || echo 'not installed')"
fi
j=$(printf '%s\n' "${join_t[@]}" | median)
printf '  %-40s %8s us (fastest %s)\n' "joining the user namespace" "$j" \
    "$(printf '%s\n' "${join_t[@]}" | fastest)"
