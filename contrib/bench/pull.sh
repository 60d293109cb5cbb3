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

work=$(mktemp -d -t skiff-bench.XXXXXX)
regpid=
cleanup() {
    if [[ -n $regpid ]]; then
        kill "$regpid" 2>/dev/null || true
        wait "$regpid" 2>/dev/null || true
    fi
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 5917)
mkdir -p "$work/registry"
cat >"$work/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
log:
  level: error
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

"$top/tests/fixtures/build-images.sh" --big "$work/fixtures" "127.0.0.1:$port" >/dev/null
ref="127.0.0.1:$port/skiff-test/big:latest"

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v ns="$1" 'BEGIN {printf "%.0f", ns/1e6}'; }

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
