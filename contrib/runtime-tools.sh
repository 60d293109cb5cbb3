#!/usr/bin/env bash
# contrib/runtime-tools.sh - run the OCI runtime-tools validation suite against
# runc, crun and skiff's own runtime (`skiff runtime`), side by side.
#
# usage: contrib/runtime-tools.sh [OPTIONS] [RUNTIME_TOOLS_SRC]
#
#   RUNTIME_TOOLS_SRC    a checkout of github.com/opencontainers/runtime-tools
#                        at commit 260e151 (the last one that builds with Go
#                        1.19); the argument wins over the environment variable
#   -r, --runtimes LIST  comma-separated, from runc,crun,skiff (the default);
#                        one that is not installed is left out with a note
#   -t, --tests REGEX    only the test files whose name matches (e.g. '^linux_')
#   -T, --timeout SECS   time limit per test file (default 60)
#   -o, --out DIR        where the raw results go (default: a new directory
#                        under ${TMPDIR:-/tmp}); it is kept
#   --no-build           use the executables already built in the checkout
#
# What it does:
#   1. builds runtimetest and the validation executables in the checkout
#      (`make runtimetest validation-executables`), offline: vendored modules
#      (GOFLAGS=-mod=vendor), GOPROXY=off, GOTOOLCHAIN=local. Nothing is
#      downloaded.
#   2. runs every validation/*/*.t from the checkout's top directory once per
#      runtime, with RUNTIME pointing at a small wrapper that gives the runtime
#      a private --root, so whatever a test leaves behind is found (and
#      deleted with `delete -f` after each file) without touching any other
#      container on the host. crun refuses a hybrid cgroup host (v1
#      controllers plus a cgroup2 mount at /sys/fs/cgroup/unified): there its
#      pass runs in a private mount namespace without that mount.
#   3. prints, per test file and runtime, the assertion counts (ok, not ok,
#      skip) and the exit status, then the differential: every assertion that
#      passes with runc or crun but not with skiff, with skiff's TAP lines.
#
# For each runtime and test file, OUT/RUNTIME/TEST.{tap,err,rc,secs} hold the
# TAP output, stderr, exit status and duration.
#
# Needs root, go (>= 1.19), make, tar, timeout and, on a hybrid cgroup host,
# unshare.
# Environment: RUNTIME_TOOLS_SRC; RUNC, CRUN (default: from PATH); SKIFF
# (default: target/release/skiff of this repository, else skiff from PATH);
# GOCACHE, GOPATH (default: a scratch directory, removed at the end).
# Exit status: 0 when the differential is empty, 1 when it is not, 2 on a
# usage or setup error.
set -euo pipefail

COMMIT=260e151
ALL_RUNTIMES=(runc crun skiff)

die() {
    echo "runtime-tools.sh: $*" >&2
    exit 2
}

# Delete every container left in a runtime's root ($1: the wrapper).
cleanup_containers() {
    local id
    while read -r id; do
        if [[ -n $id ]]; then
            "$1" delete -f "$id" </dev/null || true
        fi
    done < <("$1" list -q 2>/dev/null)
}

# One pass: run the listed test files with one runtime. Runs from the
# checkout's top directory, as the tests find rootfs-*.tar.gz and runtimetest
# there. Arguments: NAME WRAPPER RESULT-DIR TIMEOUT TEST...
run_pass() {
    local name=$1 wrapper=$2 dir=$3 limit=$4 t base rc start
    shift 4
    for t in "$@"; do
        base=${t##*/}
        base=${base%.t}
        start=$SECONDS
        rc=0
        RUNTIME=$wrapper timeout -k 10 "$limit" "./$t" \
            >"$dir/$base.tap" 2>"$dir/$base.err" </dev/null || rc=$?
        echo "$rc" >"$dir/$base.rc"
        echo $((SECONDS - start)) >"$dir/$base.secs"
        cleanup_containers "$wrapper" >>"$dir/$base.err" 2>&1
        printf '  %-6s %-40s exit %-3s %4ss\n' "$name" "$base" "$rc" \
            "$((SECONDS - start))" >&2
    done
}

# Internal entry point, so that a pass can be started in a new mount
# namespace: $0 --pass SRC NAME WRAPPER RESULT-DIR TIMEOUT TEST...
if [[ ${1:-} == --pass ]]; then
    shift
    cd "$1"
    shift
    run_pass "$@"
    exit 0
fi

# TAP output of one test file -> one line per assertion:
#   STATUS <tab> NUMBER <tab> ORDINAL <tab> DESCRIPTION
# STATUS is ok, fail, skip or todo; ORDINAL counts the lines with the same
# description, so that repeated descriptions still match across runtimes.
tap_records() {
    awk '
        /^(not )?ok [0-9]+/ {
            st = ($1 == "not") ? "fail" : "ok"
            num = ($1 == "not") ? $3 : $2
            d = $0
            sub(/^(not )?ok [0-9]+ ?/, "", d)
            if (d ~ /^# [Ss][Kk][Ii][Pp]/) { st = "skip"; sub(/^# [^ ]+ ?/, "", d) }
            else if (d ~ /^# [Tt][Oo][Dd][Oo]/) { st = "todo"; sub(/^# [^ ]+ ?/, "", d) }
            else sub(/^- ?/, "", d)
            printf "%s\t%s\t%d\t%s\n", st, num, ++seen[d], d
        }' "$1"
}

# "OK FAIL SKIP PLAN" for a TAP file; PLAN is 1 when a plan line is there and
# matches the number of assertions.
tap_counts() {
    awk '
        /^(not )?ok [0-9]+/ {
            n++
            if ($0 ~ /^(not )?ok [0-9]+ # ([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/) skip++
            else if ($1 == "not") fail++
            else ok++
        }
        /^1\.\.[0-9]+/ { split($1, p, /\.\./); plan = p[2] }
        END { printf "%d %d %d %d\n", ok, fail, skip, (plan != "" && plan + 0 == n) }' "$1"
}

# The result line of assertion number $2 in TAP file $1 and the diagnostics
# (YAML block, # lines) that follow it.
tap_detail() {
    awk -v n="$2" '
        /^(not )?ok [0-9]+/ || /^1\.\.[0-9]+/ {
            num = ($1 == "not") ? $3 : $2
            on = ($0 !~ /^1\./ && num == n)
        }
        on' "$1"
}

# ---------------------------------------------------------------------------
SRC=${RUNTIME_TOOLS_SRC:-}
RUNTIMES=all
FILTER=
LIMIT=60
OUT=
BUILD=1
while [[ $# -gt 0 ]]; do
    case $1 in
    -r | --runtimes) RUNTIMES=${2:?}; shift ;;
    -t | --tests) FILTER=${2:?}; shift ;;
    -T | --timeout) LIMIT=${2:?}; shift ;;
    -o | --out) OUT=${2:?}; shift ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) die "unknown option $1 (--help)" ;;
    *) SRC=$1 ;;
    esac
    shift
done
[[ $LIMIT =~ ^[0-9]+$ ]] || die "--timeout wants seconds, not $LIMIT"

if [[ -z $SRC || ! -f $SRC/validation/util/test.go ]]; then
    if [[ -z $SRC ]]; then
        echo "runtime-tools.sh: give a runtime-tools checkout (argument or RUNTIME_TOOLS_SRC)." >&2
    else
        echo "runtime-tools.sh: $SRC is not a runtime-tools checkout." >&2
    fi
    cat >&2 <<EOF
This script downloads nothing. Get one where GitHub is reachable:
    git clone https://github.com/opencontainers/runtime-tools
    git -C runtime-tools checkout $COMMIT
(it vendors its Go dependencies, so it builds offline), then run
    $0 path/to/runtime-tools
EOF
    exit 2
fi
SRC=$(cd "$SRC" && pwd)
REPO=$(cd "$(dirname "$0")/.." && pwd)
SELF=$REPO/contrib/${0##*/}

[[ $(id -u) == 0 ]] || die "the validation suite needs root"
head=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || true)
if [[ -z $head ]]; then
    echo "runtime-tools.sh: warning: $SRC is not a git checkout; expected commit $COMMIT" >&2
elif [[ $head != "$COMMIT"* ]]; then
    echo "runtime-tools.sh: warning: $SRC is at ${head:0:12}, not $COMMIT" >&2
fi
for tool in make tar timeout; do
    command -v "$tool" >/dev/null || die "$tool is missing"
done

if [[ -z $OUT ]]; then
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/runtime-tools-results.XXXXXX")
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/runtime-tools-scratch.XXXXXX")
# --one-file-system: never follow a mount a test may have left behind.
trap 'rm -rf --one-file-system "$SCRATCH"' EXIT
T0=$SECONDS

# 1. Build, offline.
if [[ $BUILD == 1 ]]; then
    command -v go >/dev/null || die "go is missing (Debian: apt-get install golang-go)"
    echo "== building runtimetest and the validation executables in $SRC" >&2
    (
        cd "$SRC"
        export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
        export GOCACHE=${GOCACHE:-$SCRATCH/gocache} GOPATH=${GOPATH:-$SCRATCH/gopath}
        make runtimetest validation-executables >"$OUT/build.log" 2>&1
    ) || { tail -n 20 "$OUT/build.log" >&2; die "build failed (log: $OUT/build.log)"; }
fi
[[ -x $SRC/runtimetest ]] || die "$SRC/runtimetest is missing (drop --no-build)"

TESTS=()
while IFS= read -r t; do
    base=${t##*/}
    base=${base%.t}
    [[ -z $FILTER || $base =~ $FILTER ]] && TESTS+=("$t")
done < <(cd "$SRC" && find validation -mindepth 2 -maxdepth 2 -name '*.t' -type f | sort)
[[ ${#TESTS[@]} -gt 0 ]] || die "no validation executables${FILTER:+ matching $FILTER}"

# 2. The runtimes, each behind a wrapper with its own state directory.
[[ $RUNTIMES == all ]] && RUNTIMES=$(IFS=,; echo "${ALL_RUNTIMES[*]}")
HYBRID=0
if [[ $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs &&
    $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
    HYBRID=1
fi
mkdir -p "$SCRATCH/bin" "$SCRATCH/tmp"
RAN=()
IFS=, read -r -a wanted <<<"$RUNTIMES"
for name in "${wanted[@]}"; do
    case $name in
    runc) cmd=("${RUNC:-runc}") ;;
    crun) cmd=("${CRUN:-crun}") ;;
    skiff)
        skiff=${SKIFF:-}
        if [[ -z $skiff && -x $REPO/target/release/skiff ]]; then
            skiff=$REPO/target/release/skiff
        fi
        cmd=("${skiff:-skiff}" runtime)
        ;;
    *) die "unknown runtime $name (runc, crun or skiff)" ;;
    esac
    if ! exe=$(command -v "${cmd[0]}"); then
        echo "runtime-tools.sh: note: ${cmd[0]} is not installed: no $name pass" >&2
        continue
    fi
    cmd[0]=$exe
    wrapper=$SCRATCH/bin/$name
    {
        echo '#!/bin/sh'
        printf 'exec'
        printf ' %q' "${cmd[@]}" --root "$SCRATCH/state/$name"
        printf ' "$@"\n'
    } >"$wrapper"
    chmod +x "$wrapper"
    rm -rf "${OUT:?}/$name"
    mkdir -p "$OUT/$name"

    launch=()
    if [[ $name == crun && $HYBRID == 1 ]]; then
        command -v unshare >/dev/null || die "unshare is missing (crun on a hybrid cgroup host)"
        launch=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
    fi
    echo "== $name pass: ${#TESTS[@]} test files ($exe${launch[*]:+, in a mount namespace without the cgroup2 mount})" >&2
    start=$SECONDS
    TMPDIR=$SCRATCH/tmp "${launch[@]}" "$BASH" "$SELF" --pass "$SRC" "$name" "$wrapper" \
        "$OUT/$name" "$LIMIT" "${TESTS[@]}"
    echo "== $name pass: $((SECONDS - start))s" >&2
    echo "$((SECONDS - start))" >"$OUT/$name.secs"
    RAN+=("$name")
done
[[ ${#RAN[@]} -gt 0 ]] || die "no runtime to test"

# 3. Report.
for name in "${RAN[@]}"; do
    for t in "${TESTS[@]}"; do
        base=${t##*/}
        base=${base%.t}
        tap_records "$OUT/$name/$base.tap" >"$OUT/$name/$base.rec"
    done
done

# Exit status as shown: the number, T/O for a timeout, * when the TAP plan is
# missing or does not match the assertions.
status_cell() {
    local rc=$1 plan=$2
    [[ $rc == 124 || $rc == 137 ]] && rc=T/O
    [[ $plan == 1 ]] || rc+='*'
    echo "$rc"
}

echo
echo "runtime-tools $(git -C "$SRC" describe --always --tags 2>/dev/null || echo "$SRC"), results in $OUT"
printf '%-36s' ''
for name in "${RAN[@]}"; do printf ' | %-20s' "$name"; done
printf '\n%-36s' 'test'
for _ in "${RAN[@]}"; do printf ' | %4s %4s %4s %5s' ok nok skip exit; done
echo
declare -A TOT
for t in "${TESTS[@]}"; do
    base=${t##*/}
    base=${base%.t}
    printf '%-36s' "$base"
    for name in "${RAN[@]}"; do
        read -r ok fail skip plan < <(tap_counts "$OUT/$name/$base.tap")
        TOT[$name.ok]=$((${TOT[$name.ok]:-0} + ok))
        TOT[$name.fail]=$((${TOT[$name.fail]:-0} + fail))
        TOT[$name.skip]=$((${TOT[$name.skip]:-0} + skip))
        printf ' | %4d %4d %4d %5s' "$ok" "$fail" "$skip" \
            "$(status_cell "$(cat "$OUT/$name/$base.rc")" "$plan")"
    done
    echo
done
printf '%-36s' total
for name in "${RAN[@]}"; do
    printf ' | %4d %4d %4d %5s' "${TOT[$name.ok]}" "${TOT[$name.fail]}" "${TOT[$name.skip]}" \
        "$(cat "$OUT/$name.secs")s"
done
echo
echo "(exit: T/O = killed after ${LIMIT}s; * = TAP plan missing or not matching)"

REFS=()
for name in "${RAN[@]}"; do [[ $name != skiff ]] && REFS+=("$name"); done
if [[ ! -d $OUT/skiff || ${#REFS[@]} == 0 ]]; then
    echo
    echo "no differential: it needs the skiff pass and runc's or crun's"
    echo "wall time: $((SECONDS - T0))s"
    exit 0
fi

# The differential: assertions (matched on description and ordinal) that are
# ok with a reference runtime and are not ok, skipped or absent with skiff.
DIFF=0
REPORT=$SCRATCH/differential
: >"$REPORT"
for t in "${TESTS[@]}"; do
    base=${t##*/}
    base=${base%.t}
    # One stream: RUNTIME <tab> record, the references first.
    lines=$(for name in "${REFS[@]}" skiff; do
        sed "s/^/$name\t/" "$OUT/$name/$base.rec"
    done | awk -F'\t' '
        $1 == "skiff" { k = $4 SUBSEP $5; st[k] = $2; num[k] = $3; next }
        $2 == "ok" {
            k = $4 SUBSEP $5
            if (!(k in by)) { order[++n] = k; desc[k] = $5; ref[k] = $3 }
            by[k] = by[k] (by[k] == "" ? "" : ",") $1
        }
        END {
            for (i = 1; i <= n; i++) {
                k = order[i]
                s = (k in st) ? st[k] : "absent"
                if (s == "ok") continue
                printf "%s\t%s\t%s\t%s\t%s\n", s, (k in num) ? num[k] : "-", ref[k], by[k], desc[k]
            }
        }')
    [[ -z $lines ]] && continue
    n=$(grep -c . <<<"$lines")
    DIFF=$((DIFF + n))
    read -r ok fail skip plan < <(tap_counts "$OUT/skiff/$base.tap")
    {
        echo "--- $base: $n (skiff exit $(status_cell "$(cat "$OUT/skiff/$base.rc")" "$plan"))"
        absent=0
        while IFS=$'\t' read -r st num refnum by desc; do
            case $st in
            fail | skip | todo)
                tap_detail "$OUT/skiff/$base.tap" "$num" | sed 's/^/    /'
                echo "      (ok with $by)"
                ;;
            absent)
                absent=1
                echo "    absent: #$refnum - $desc   (ok with $by)"
                ;;
            esac
        done <<<"$lines"
        if [[ $absent == 1 && -s $OUT/skiff/$base.err ]]; then
            echo "    skiff stderr (last lines):"
            tail -n 6 "$OUT/skiff/$base.err" | sed 's/^/      | /'
        fi
    } >>"$REPORT"
done

echo
echo "== differential: $DIFF assertions pass with ${REFS[*]} but not with skiff"
cat "$REPORT"
echo "wall time: $((SECONDS - T0))s"
[[ $DIFF == 0 ]]
