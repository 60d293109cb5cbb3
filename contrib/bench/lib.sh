# lib.sh - shared pieces of the container benchmarks (sourced, not run).
# Expects: $work (scratch directory), $top (checkout), die(); $RUNS for
# measured().

# start_registry [--big]: a docker-registry on a free 127.0.0.1 port with the
# fixture images pushed; sets port, regpid and ref (the busybox fixture).
start_registry() {
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
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
    "$top/tests/fixtures/build-images.sh" "$@" "$work/fixtures" "127.0.0.1:$port" >/dev/null 2>"$work/fixtures.log" ||
        die "building the fixture images failed: $(tail -3 "$work/fixtures.log")"
    ref="127.0.0.1:$port/skiff-test/busybox:latest"
}

# stop_registry: for cleanup traps (never fails, a trap under set -e must go on).
stop_registry() {
    if [[ -n ${regpid:-} ]]; then kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; fi
}

# unmount_under DIR: lazily unmount whatever is still mounted below DIR.
unmount_under() {
    grep -o " $1[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
}

# elapsed CMD...: run CMD (output discarded), print its wall time in µs.
elapsed() {
    local t0=$EPOCHREALTIME t1
    "$@" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; die "failed: $*"; }
    t1=$EPOCHREALTIME
    echo $(( (${t1/./} - ${t0/./}) ))
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fastest() { sort -n | head -1; }
ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us/1000}'; }
# measured WHAT VALUES...: die unless there are $RUNS values (a timing loop
# read with mapfile from a process substitution fails without stopping us).
measured() {
    local what=$1; shift
    (($# == RUNS)) || die "$what: $# of $RUNS runs measured"
}

# The side-by-side scripts' shared helpers; they read $work and $USER_NAME.
# as_user CMD...: run as the rootless user with the work directory's home,
# runtime directory and containers.conf; as_root CMD...: the same as root.
as_user() {
    runuser -u "$USER_NAME" -- env -i PATH="$work/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
        HOME="$work/u/home" XDG_RUNTIME_DIR="$work/u/xdg" LANG=C.UTF-8 \
        CONTAINERS_CONF="$work/containers.conf" "$@"
}
as_root() { env CONTAINERS_CONF="$work/containers.conf" "$@"; }
# line LABEL MICROSECONDS...: one row, median (fastest) in ms.
line() {
    local label=$1; shift
    local vals; vals=$(printf '%s\n' "$@")
    printf '  %-44s %8s ms (%s)\n' "$label" "$(ms "$(median <<<"$vals")")" "$(ms "$(fastest <<<"$vals")")"
}
# ratio "VALUES" MEDIAN: the median of VALUES over MEDIAN.
ratio() { awk -v a="$(median <<<"$(printf '%s\n' "$1")")" -v b="$2" 'BEGIN {printf "%.2fx", a/b}'; }

# side_by_side NAME CONTAINERS_CONF TOOL...: the common start of the
# side-by-side scripts (root skiff and podman, rootless skiff and podman):
# checks (root, $USER_NAME, a release build at $SKIFF or target/release,
# TOOLs, bash 5), the work directory with skiff's binaries, the rootless
# user's home and runtime directory, CONTAINERS_CONF (the given text), the
# registry with the fixtures, and a cleanup on exit that resets all four
# stores. Sets work, skiff, podman_on, sk_root, pm_root, sk_user, pm_user.
side_by_side() {
    local name=$1 conf=$2; shift 2
    [[ $(id -u) == 0 ]] || die "run as root (the rootless half switches to $USER_NAME)"
    id -u "$USER_NAME" >/dev/null 2>&1 || die "no user $USER_NAME (useradd -m $USER_NAME)"
    skiff=${SKIFF:-$top/target/release/skiff}
    [[ -x $skiff ]] || die "no release build at $skiff (cargo build --release --workspace)"
    local t
    for t in docker-registry skopeo jq curl python3 "$@"; do
        command -v "$t" >/dev/null || die "$t is not installed"
    done
    [[ ${BASH_VERSINFO[0]} -ge 5 ]] || die "needs bash 5 (EPOCHREALTIME)"
    work=$(mktemp -d -t "skiff-bench-$name.XXXXXX")
    chmod 755 "$work"
    regpid=
    podman_on=
    [[ ${SKIFF_BENCH_PODMAN:-1} == 0 ]] || ! command -v podman >/dev/null || podman_on=1
    sk_root=("$work/bin/skiff" --root "$work/r/skiff/root" --runroot "$work/r/skiff/run")
    pm_root=(podman --root "$work/r/podman/root" --runroot "$work/r/podman/run")
    sk_user=("$work/bin/skiff" --root "$work/u/skiff/root" --runroot "$work/u/xdg/skiff")
    pm_user=(podman --root "$work/u/podman/root" --runroot "$work/u/xdg/podman")
    trap side_by_side_cleanup EXIT
    mkdir -p "$work/bin"
    cp "$skiff" "$(dirname "$skiff")/skiff-conmon" "$(dirname "$skiff")/skiff-init" "$work/bin/"
    install -d -o "$USER_NAME" "$work/u" "$work/u/home"
    install -d -m 700 -o "$USER_NAME" "$work/u/xdg"
    printf '%b' "$conf" >"$work/containers.conf"
    chmod 644 "$work/containers.conf"
    # shellcheck disable=SC2119 # the fixture images need no option here
    start_registry
    chmod -R a+rX "$work"
}

# The EXIT trap of side_by_side: every store reset (pods, containers,
# volumes, images), the user's leftovers killed, mounts undone.
side_by_side_cleanup() {
    stop_registry
    as_root "${sk_root[@]}" system reset -f >/dev/null 2>&1 || true
    as_user "${sk_user[@]}" system reset -f >/dev/null 2>&1 || true
    if [[ -n $podman_on ]]; then
        as_root "${pm_root[@]}" system reset -f >/dev/null 2>&1 || true
        as_user "${pm_user[@]}" system reset -f >/dev/null 2>&1 || true
    fi
    pkill -u "$USER_NAME" -f "$work" 2>/dev/null || true
    unmount_under "$work"
    rm -rf "$work" 2>/dev/null || true
}
