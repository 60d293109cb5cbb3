#!/usr/bin/env bash
# pull.sh - pull benchmark: a ~100 MB multi-layer image from a local registry
# into an empty store, skiff and (when installed) podman side by side in one
# run, plus the machine's raw rate for gunzip + sha256 of the same bytes.
#
# usage: contrib/bench/pull.sh [RUNS]     (default 5; medians are printed)
# Needs: a release build (cargo build --release), docker-registry, skopeo,
# jq, openssl, busybox-static (the fixture builder's tools).
set -euo pipefail
RUNS=${1:-5}
top=$(cd "$(dirname "$0")/../.." && pwd)
skiff=${SKIFF:-$top/target/release/skiff}
[[ -x $skiff ]] || { echo "build first: cargo build --release" >&2; exit 1; }

die() { echo "pull.sh: $*" >&2; exit 1; }
# shellcheck source=contrib/bench/lib.sh
. "$top/contrib/bench/lib.sh"

work=$(mktemp -d -t skiff-bench.XXXXXX)
regpid=
cleanup() {
    stop_registry
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

start_registry --big
ref="127.0.0.1:$port/skiff-test/big:latest"

# Times in µs, as lib.sh's ms() takes them.
now() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# raw: gunzip + sha256 of the layer blobs of the big image, one after another
layers=$(jq -r '.layers[].digest' <"$work/fixtures/oci/blobs/sha256/$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="big:latest") | .digest' "$work/fixtures/oci/index.json" | cut -d: -f2)" | cut -d: -f2)
bytes=0
for l in $layers; do bytes=$((bytes + $(stat -c %s "$work/fixtures/oci/blobs/sha256/$l"))); done

raw=(); sk=(); pm=()
for i in $(seq "$RUNS"); do
    t0=$(now)
    for l in $layers; do
        f="$work/fixtures/oci/blobs/sha256/$l"
        sha256sum "$f" >/dev/null
        gzip -dc "$f" | sha256sum >/dev/null
    done
    raw+=($(( $(now) - t0 )))

    rm -rf "$work/skiff"
    t0=$(now)
    "$skiff" --root "$work/skiff/root" --runroot "$work/skiff/run" pull -q --tls-verify=false "$ref" >/dev/null
    sk+=($(( $(now) - t0 )))

    if command -v podman >/dev/null; then
        podman --root "$work/podman/root" --runroot "$work/podman/run" rmi -af >/dev/null 2>&1 || true
        rm -rf "$work/podman"
        t0=$(now)
        podman --root "$work/podman/root" --runroot "$work/podman/run" pull -q --tls-verify=false "$ref" >/dev/null
        pm+=($(( $(now) - t0 )))
    fi
done

r=$(printf '%s\n' "${raw[@]}" | median)
s=$(printf '%s\n' "${sk[@]}" | median)
echo "pull of $ref ($((bytes / 1000000)) MB compressed), median of $RUNS runs"
printf '  %-28s %8s ms\n' "raw gunzip+sha256" "$(ms "$r")"
printf '  %-28s %8s ms   (%.2fx raw)\n' "skiff pull" "$(ms "$s")" "$(awk -v a="$s" -v b="$r" 'BEGIN{print a/b}')"
if [[ ${#pm[@]} -gt 0 ]]; then
    p=$(printf '%s\n' "${pm[@]}" | median)
    printf '  %-28s %8s ms   (skiff is %.2fx faster)\n' "podman pull" "$(ms "$p")" "$(awk -v a="$p" -v b="$s" 'BEGIN{print a/b}')"
    podman --root "$work/podman/root" --runroot "$work/podman/run" rmi -af >/dev/null 2>&1 || true
else
    echo "  podman not installed: no comparison"
fi
