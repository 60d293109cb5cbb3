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
