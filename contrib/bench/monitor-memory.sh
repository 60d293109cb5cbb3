#!/usr/bin/env bash
# monitor-memory.sh - memory of one container's monitor: skiff-conmon and
# (when installed) conmon side by side, each started the same way (sync
# pipe, --api-version 1, k8s-file log, attach socket, ctl FIFO) to watch a
# busybox `sleep` container run by runc. Figures come from
# /proc/PID/smaps_rollup while the container runs: RSS, PSS, and USS
# (private pages), in kB, the median of RUNS runs, with pipes and with -t,
# detached as podman starts monitors and with --sync (as under systemd).
#
# RSS counts shared library pages (libc) the kernel maps around each fault
# and is larger when the monitor does not fork (--sync): compare PSS for
# what a monitor really costs the machine.
#
# usage: contrib/bench/monitor-memory.sh [RUNS]     (default 3)
# Needs: root, runc, busybox-static, and a release build
# (cargo build --release -p skiff-conmon); SKIFF_CONMON overrides the binary.
set -euo pipefail
RUNS=${1:-3}
top=$(cd "$(dirname "$0")/../.." && pwd)
ours=${SKIFF_CONMON:-$top/target/release/skiff-conmon}

die() { echo "monitor-memory.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "needs root (runc creates the containers)"
[[ -x $ours ]] || die "build first: cargo build --release -p skiff-conmon"
runc=$(command -v runc || true)
[[ -n $runc ]] || die "runc is not installed (apt-get install runc)"
{ LC_ALL=C ldd /bin/busybox 2>&1 || true; } | grep -q "not a dynamic" ||
    die "needs a static /bin/busybox (apt-get install busybox-static)"
theirs=$(command -v conmon || true)

# Detached monitors are orphaned; become a subreaper to reap them (the
# setting survives exec), when python3 can make the call.
if [[ -z ${MONITOR_MEMORY_REAPER:-} ]] && command -v python3 >/dev/null; then
    export MONITOR_MEMORY_REAPER=1
    exec python3 -c 'import ctypes, os, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
os.execvp("bash", ["bash"] + sys.argv[1:])' "$0" "$@"
fi

work=$(mktemp -d -t skiff-monitor-mem.XXXXXX)
ids=()
cleanup() {
    for id in "${ids[@]}"; do "$runc" delete -f "$id" >/dev/null 2>&1 || true; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/exits" "$work/socks"

# bundle DIR TERMINAL: a busybox root running `sleep 600`.
bundle() {
    mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/dev"
    cp /bin/busybox "$1/rootfs/bin/busybox"
    ln -s busybox "$1/rootfs/bin/sleep"
    cat >"$1/config.json" <<JSON
{"ociVersion": "1.0.2",
 "process": {"terminal": $2, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "600"],
             "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true},
 "root": {"path": "rootfs"}, "hostname": "bench",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}}
JSON
}

# measure BINARY NAME TERMINAL MODE: print "RSS PSS USS" (kB) of one
# monitor; MODE is detached or sync.
measure() {
    local bin=$1 name=$2 tty=$3 mode=$4 id dir sync mon pid flags=()
    id=bench-$name-$RANDOM$RANDOM
    dir=$work/$id
    ids+=("$id")
    bundle "$dir" "$tty"
    [[ $tty == true ]] && flags+=(-t)
    [[ $mode == sync ]] && flags+=(--sync)
    exec {sync}>"$dir/sync"
    _OCI_SYNCPIPE=$sync "$bin" --api-version 1 -c "$id" -u "$id" -r "$runc" -b "$dir" \
        -p "$dir/pidfile" -l "k8s-file:$dir/ctr.log" --exit-dir "$work/exits" \
        --socket-dir-path "$work/socks" --log-level error -P "$dir/monitor.pid" "${flags[@]}" &
    mon=$!
    exec {sync}>&-
    for _ in $(seq 100); do grep -q data "$dir/sync" 2>/dev/null && break; sleep 0.05; done
    pid=$(sed -n 's/.*"data": *\([0-9-]*\).*/\1/p' "$dir/sync")
    [[ ${pid:--1} -gt 0 ]] || die "$name: the container was not created: $(cat "$dir/sync")"
    # Detached, the monitor is the child of the process just started (which
    # has exited); conmon writes no pid file with --sync.
    [[ $mode == sync ]] || mon=$(cat "$dir/monitor.pid")
    "$runc" start "$id"
    sleep 1
    awk '/^Rss:/ {r = $2} /^Pss:/ {p = $2} /^Private_(Clean|Dirty):/ {u += $2}
         END {print r, p, u}' "/proc/$mon/smaps_rollup"
    "$runc" kill "$id" KILL
    for _ in $(seq 100); do [[ -e $work/exits/$id ]] && break; sleep 0.05; done
    wait || true
    "$runc" delete -f "$id" >/dev/null 2>&1 || true
}

# median of the numbers on stdin
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

report() { # LABEL BINARY NAME TERMINAL MODE
    local label=$1 bin=$2 name=$3 tty=$4 mode=$5 samples
    samples=$(for _ in $(seq "$RUNS"); do measure "$bin" "$name" "$tty" "$mode"; done)
    printf '%-22s %-9s %-6s %7s %7s %7s\n' "$label" "$mode" "$([[ $tty == true ]] && echo tty || echo pipes)" \
        "$(cut -d' ' -f1 <<<"$samples" | median)" \
        "$(cut -d' ' -f2 <<<"$samples" | median)" \
        "$(cut -d' ' -f3 <<<"$samples" | median)"
}

echo "monitor memory in kB while one busybox container runs (runc), median of $RUNS"
printf '%-22s %-9s %-6s %7s %7s %7s\n' monitor start stdio RSS PSS USS
for mode in detached sync; do
    for tty in false true; do
        report "skiff-conmon" "$ours" skiff "$tty" "$mode"
        if [[ -n $theirs ]]; then
            report "conmon $("$theirs" --version | sed -n 's/^conmon version //p')" "$theirs" conmon "$tty" "$mode"
        fi
    done
done
[[ -n $theirs ]] || echo "(conmon is not installed: apt-get install conmon to compare)"
printf 'binary text: skiff-conmon %s bytes' "$(size "$ours" | awk 'NR == 2 {print $1}')"
[[ -n $theirs ]] && printf ', conmon %s bytes (plus glib)' "$(size "$theirs" | awk 'NR == 2 {print $1}')"
echo
