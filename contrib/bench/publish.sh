#!/usr/bin/env bash
# publish.sh - time from `run -d -p 127.0.0.1:PORT:80 IMAGE httpd` to the
# first HTTP answer on that port, then `rm -f`, root and rootless, skiff
# (its default bridge network, --network pasta and --network slirp4netns)
# and podman (its default
# network: a netavark bridge as root, slirp4netns with rootlessport
# rootless) side by side on the same busybox image from a local registry.
#
# usage: contrib/bench/publish.sh [RUNS]   (default 10; medians, with the
#                                           fastest run beside them)
# Needs: root, a release build (cargo build --release --workspace), pasta
# (Debian package passt), slirp4netns, the user skifftest with a
# subordinate id range, docker-registry, skopeo, jq, curl, python3,
# busybox-static. podman is compared when installed (SKIFF_BENCH_PODMAN=0
# leaves it out); as root it sets up its default bridge network, which
# changes the host's firewall while its container runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-10}
WARMUP=2
USER_NAME=${SKIFF_BENCH_USER:-skifftest}
die() { echo "publish.sh: $*" >&2; exit 1; }
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"

side_by_side publish '[containers]\ndefault_ulimits = []\n' pasta slirp4netns

# time_publish RUNNER PORT NETWORK ENGINE...: microseconds from run -d to
# the first answer, one line per measured run (after the warm-up runs).
# NETWORK is a --network value, or "" for the engine's default.
time_publish() {
    local runner=$1 port=$2 net=$3; shift 3
    "$runner" bash -c '
        port=$1; n=$2; ref=$3; net=$4; shift 4
        netarg=()
        [[ -z $net ]] || netarg=(--network "$net")
        for _ in $(seq "$n"); do
            t0=$EPOCHREALTIME
            "$@" run -d --name bench-web "${netarg[@]}" -p "127.0.0.1:$port:80" "$ref" \
                httpd -f -p 80 -h / >/dev/null || { echo "run failed: $*" >&2; exit 1; }
            until curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/etc/hostname"; do
                t=$EPOCHREALTIME
                (( ${t/./} - ${t0/./} < 10000000 )) || { echo "no answer: $*" >&2; exit 1; }
                sleep 0.002
            done
            t1=$EPOCHREALTIME
            echo $(( ${t1/./} - ${t0/./} ))
            "$@" rm -f -t 0 bench-web >/dev/null
        done' sh "$port" "$((WARMUP + RUNS))" "$ref" "$net" "$@" | tail -n "$RUNS"
}

as_root "${sk_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
as_user "${sk_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
if [[ -n $podman_on ]]; then
    as_root "${pm_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
    as_user "${pm_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
fi

echo "run -d -p 127.0.0.1:PORT:80 $ref httpd, to the first HTTP answer: median (fastest) of $RUNS runs, after $WARMUP warm-up runs"
mapfile -t g < <(time_publish as_root 18937 bridge "${sk_root[@]}")
mapfile -t a < <(time_publish as_root 18931 pasta "${sk_root[@]}")
mapfile -t e < <(time_publish as_root 18935 slirp4netns "${sk_root[@]}")
echo " root:"
line "skiff (default network: bridge)" "${g[@]}"
line "skiff --network pasta" "${a[@]}"
line "skiff --network slirp4netns" "${e[@]}"
if [[ -n $podman_on ]]; then
    mapfile -t b < <(time_publish as_root 18932 "" "${pm_root[@]}" --runtime runc)
    line "podman (default network: netavark bridge)" "${b[@]}"
    printf '  %-44s %8s\n' "podman / skiff (both bridges)" "$(ratio "$(printf '%s\n' "${b[@]}")" "$(median <<<"$(printf '%s\n' "${g[@]}")")")"
fi
mapfile -t c < <(time_publish as_user 18933 pasta "${sk_user[@]}")
mapfile -t f < <(time_publish as_user 18936 slirp4netns "${sk_user[@]}")
mapfile -t h < <(time_publish as_user 18938 bridge "${sk_user[@]}")
echo " rootless ($USER_NAME):"
line "skiff --network pasta (its default)" "${c[@]}"
line "skiff --network slirp4netns" "${f[@]}"
line "skiff bridge (rootless network namespace)" "${h[@]}"
if [[ -n $podman_on ]]; then
    mapfile -t d < <(time_publish as_user 18934 "" "${pm_user[@]}" --runtime runc)
    line "podman (default: slirp4netns, rootlessport)" "${d[@]}"
    printf '  %-44s %8s\n' "podman / skiff" "$(ratio "$(printf '%s\n' "${d[@]}")" "$(median <<<"$(printf '%s\n' "${c[@]}")")")"
fi
