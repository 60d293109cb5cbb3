#!/usr/bin/env bash
# pod.sh - time from `pod create --name bench-pN -p 127.0.0.1:PORT:80` through
# three `run -d --pod bench-pN IMAGE` web servers (busybox httpd, each serving
# "hello K" on port 80, 81 and 82 of the pod's network namespace) to the
# first HTTP answer of the pod's published port, then `pod rm -f -t 0`
# (not timed), root and rootless, skiff and podman side by side on the
# same busybox image from a local registry. Each engine uses its default
# pod network: skiff's default bridge as root and pasta rootless, podman's
# netavark bridge as root and whatever it defaults to rootless (the
# output names it); podman makes its own pause image for the infra
# container, skiff its own (both during the warm-up runs).
#
# One sample ends when the published port answers HTTP 200 with "hello 1"
# (polled from the host once the three `run -d` have returned). That the
# other two servers answer on localhost:81 and :82 inside the pod is then
# checked, untimed, with one `run --rm --pod bench-pN IMAGE wget ...`: a sample
# whose pod does not serve all three fails the benchmark.
#
# usage: contrib/bench/pod.sh [RUNS]   (default 10; medians, with the
#                                       fastest run beside them)
# Needs: root, a release build (cargo build --release --workspace; SKIFF
# overrides the binary, skiff-conmon and skiff-init are found beside it),
# pasta (Debian package passt), the user skifftest with a subordinate id
# range, docker-registry, skopeo, jq, curl, python3, busybox-static.
# podman (with runc, as in publish.sh) is compared when installed
# (SKIFF_BENCH_PODMAN=0 leaves it out); as root it sets up its default
# bridge network, which changes the host's firewall while its pod runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${1:-10}
WARMUP=2
USER_NAME=${SKIFF_BENCH_USER:-skifftest}
die() { echo "pod.sh: $*" >&2; exit 1; }
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"

side_by_side pod '[containers]\ndefault_ulimits = []\n' pasta

# time_pod RUNNER PORT ENGINE...: microseconds from pod create to the
# published port's first answer, one line per measured run (after the
# warm-up runs).
time_pod() {
    local runner=$1 port=$2; shift 2
    # shellcheck disable=SC2016 # expanded by the inner shell, as RUNNER
    "$runner" bash -c '
        port=$1; n=$2; ref=$3; shift 3
        eng=("$@")
        fail() { echo "$*: ${eng[*]}" >&2; "${eng[@]}" pod rm -f -t 0 "$pod" >/dev/null 2>&1; exit 1; }
        for i in $(seq "$n"); do
            pod=bench-p$i
            t0=$EPOCHREALTIME
            "$@" pod create --name "$pod" -p "127.0.0.1:$port:80" >/dev/null || fail "pod create failed"
            for k in 1 2 3; do
                "$@" run -d --pod "$pod" "$ref" sh -c "mkdir -p /www && echo hello $k >/www/index.html && exec httpd -f -p $((79 + k)) -h /www" \
                    >/dev/null || fail "run --pod failed"
            done
            until body=$(curl -sf --max-time 1 "http://127.0.0.1:$port/") && [[ $body == "hello 1" ]]; do
                t=$EPOCHREALTIME
                (( ${t/./} - ${t0/./} < 10000000 )) || fail "no answer on 127.0.0.1:$port"
                sleep 0.002
            done
            t1=$EPOCHREALTIME
            got=$("$@" run --rm --pod "$pod" "$ref" sh -c "for _ in \$(seq 50); do
                    a=\$(wget -qO- http://127.0.0.1:81/) && b=\$(wget -qO- http://127.0.0.1:82/) && exec echo \"\$a,\$b\"
                    sleep 0.1; done; exit 1") || true
            [[ $got == "hello 2,hello 3" ]] || fail "ports 81 and 82 of the pod answered \"$got\""
            echo $(( ${t1/./} - ${t0/./} ))
            "$@" pod rm -f -t 0 "$pod" >/dev/null
        done' sh "$port" "$((WARMUP + RUNS))" "$ref" "$@" | tail -n "$RUNS"
}
# netmode RUNNER ENGINE...: the network mode of a pod made with the
# engine's defaults (its infra container's, as inspect shows it).
netmode() {
    local runner=$1 infra; shift
    "$runner" "$@" pod create --name bench-net -p 127.0.0.1:18949:80 >/dev/null
    infra=$("$runner" "$@" pod inspect -f '{{.InfraContainerID}}' bench-net)
    "$runner" "$@" inspect -f '{{.HostConfig.NetworkMode}}' "$infra"
    "$runner" "$@" pod rm -f -t 0 bench-net >/dev/null
}

as_root "${sk_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
as_user "${sk_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
if [[ -n $podman_on ]]; then
    as_root "${pm_root[@]}" pull -q --tls-verify=false "$ref" >/dev/null
    as_user "${pm_user[@]}" pull -q --tls-verify=false "$ref" >/dev/null
fi

echo "pod create -p 127.0.0.1:PORT:80 + 3 x run -d --pod (httpd on 80, 81, 82), to the first HTTP answer"
echo "of the pod's port: median (fastest) of $RUNS runs, after $WARMUP warm-up runs"
mapfile -t a < <(time_pod as_root 18941 "${sk_root[@]}")
measured "root skiff" "${a[@]}"
echo " root:"
line "skiff (default network: $(netmode as_root "${sk_root[@]}"))" "${a[@]}"
if [[ -n $podman_on ]]; then
    mapfile -t b < <(time_pod as_root 18942 "${pm_root[@]}" --runtime runc)
    measured "root podman" "${b[@]}"
    line "podman (default network: netavark $(netmode as_root "${pm_root[@]}"))" "${b[@]}"
    printf '  %-44s %8s\n' "podman / skiff" "$(ratio "$(printf '%s\n' "${b[@]}")" "$(median <<<"$(printf '%s\n' "${a[@]}")")")"
fi
mapfile -t c < <(time_pod as_user 18943 "${sk_user[@]}")
measured "rootless skiff" "${c[@]}"
echo " rootless ($USER_NAME):"
line "skiff (default network: $(netmode as_user "${sk_user[@]}"))" "${c[@]}"
if [[ -n $podman_on ]]; then
    mapfile -t d < <(time_pod as_user 18944 "${pm_user[@]}" --runtime runc)
    measured "rootless podman" "${d[@]}"
    line "podman (default network: $(netmode as_user "${pm_user[@]}"))" "${d[@]}"
    printf '  %-44s %8s\n' "podman / skiff" "$(ratio "$(printf '%s\n' "${d[@]}")" "$(median <<<"$(printf '%s\n' "${c[@]}")")")"
fi
