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
#   --report-only        run nothing: report on the results already in --out
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
#      container on the host. Mounts left on the host under the bundles'
#      directory are unmounted and the empty cgroups the tests name are
#      removed after each file, too. crun refuses a hybrid cgroup host (v1
#      controllers plus a cgroup2 mount at /sys/fs/cgroup/unified): there its
#      pass runs in a private mount namespace with an empty tmpfs instead.
#   3. prints, per test file and runtime, the assertion counts (ok, not ok,
#      skip, error reports outside assertions) and the exit status, then the
#      differential: every assertion that passes with runc or crun (in a test
#      file that exits 0 with it) but not with skiff, every error report
#      outside assertions that only skiff gives, and every test file that
#      exits 0 with runc or crun but not with skiff, each with skiff's TAP
#      lines (and what its runtimetest reported from inside the container),
#      the test's stderr and skiff's own error log.
#
# In OUT, for each runtime and test file, RUNTIME/TEST.{tap,err,rc,secs} hold
# the TAP output, stderr, exit status and duration; TEST.log skiff's errors,
# TEST.mounts and TEST.cgroups what was left behind; differential.txt the
# whole differential (the screen folds long runs of absent assertions).
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

# Unmount whatever is left mounted under $TMPDIR, where the tests make their
# bundles (a config without a mount namespace has the runtime mount the
# container's file systems on the host), and list it.
unmount_leftovers() {
    local m
    awk -v d="$TMPDIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do
        echo "$m"
        umount -l "$m" 2>/dev/null || true
    done
}

# The cgroups named by the suite's tests ("cgrouptest" and
# "testdir/cgrouptest/container", relative to each hierarchy), deepest first.
# The runtimes remove a container's own cgroup, not the parents they made.
suite_cgroups() {
    local d
    for d in /sys/fs/cgroup/{,*/}{testdir/cgrouptest/container,testdir/cgrouptest,testdir,cgrouptest}; do
        if [[ -d $d && $(stat -f -c %T "$d") == cgroup* ]]; then echo "$d"; fi
    done
}

# One pass: run the listed test files with one runtime. Runs from the
# checkout's top directory, as the tests find rootfs-*.tar.gz and runtimetest
# there. Arguments: NAME WRAPPER LOG RESULT-DIR TIMEOUT TEST..., LOG being
# where the runtime logs its errors (or empty): it goes to RESULT-DIR/TEST.log.
run_pass() {
    local name=$1 wrapper=$2 log=$3 dir=$4 limit=$5 t base rc start cg
    shift 5
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
        if [[ -n $log && -e $log ]]; then
            mv "$log" "$dir/$base.log"
        fi
        unmount_leftovers >"$dir/$base.mounts"
        [[ -s $dir/$base.mounts ]] || rm -f "$dir/$base.mounts"
        if [[ ${CLEAN_CGROUPS:-0} == 1 ]]; then
            # rmdir: only what is empty; what stays is listed.
            suite_cgroups | while read -r cg; do rmdir "$cg" 2>/dev/null || true; done
            suite_cgroups >"$dir/$base.cgroups"
            [[ -s $dir/$base.cgroups ]] || rm -f "$dir/$base.cgroups"
        fi
        printf '  %-6s %-40s exit %-3s %4ss\n' "$name" "$base" "$rc" \
            "$((SECONDS - start))" >&2
    done
}

# Internal entry point, so that a pass can be started in a new mount
# namespace: $0 --pass SRC NAME WRAPPER LOG RESULT-DIR TIMEOUT TEST...
if [[ ${1:-} == --pass ]]; then
    shift
    : "${TMPDIR:?--pass is internal}"
    cd "$1"
    shift
    run_pass "$@"
    exit 0
fi

# The TAP reader, one awk program for two jobs:
#  mode=records: one line per assertion, STATUS <tab> WHERE <tab> ORDINAL <tab>
#    DESCRIPTION. STATUS is ok, fail, skip, todo or diag; WHERE the assertion's
#    number (diag: @LINE, where its YAML block starts). ORDINAL counts earlier
#    records with the same description, so repeated descriptions still match
#    across runtimes. A diag is an error report in a YAML block that belongs
#    to no assertion; DESCRIPTION is then its error (or first) line.
#  mode=detail, w=NUMBER or @LINE: what the file says about that record: the
#    result line, the output of runtimetest (inside the container) that it
#    judged, reduced to runtimetest's own failures, and the # lines and YAML
#    block that follow it; for @LINE, that block.
# A YAML block with a "stdout" key is the output of runtimetest and comes
# before the assertion that judges it; any other YAML block belongs to the
# assertion just before it, or to none.
# shellcheck disable=SC2016 # awk's own $
TAP_AWK='
function unescape(s) {
    gsub(/\\\\/, "\001", s)
    gsub(/\\n/, "\n", s); gsub(/\\t/, "\t", s); gsub(/\\"/, "\"", s)
    gsub(/\\u003c/, "<", s); gsub(/\\u003e/, ">", s); gsub(/\\u0026/, "\\&", s)
    gsub(/\001/, "\\", s)
    return s
}
function value(line) {
    sub(/^ *"[^"]*": "?/, "", line)
    sub(/"?,?$/, "", line)
    return unescape(line)
}
# runtimetest output: its failures (with their YAML), stderr and error.
function dump(blk,   n, l, i, j, m, inner, show, out, more) {
    n = split(blk, l, "\n")
    for (i = 1; i <= n; i++) {
        if (l[i] ~ /^ *"stdout": /) {
            m = split(value(l[i]), inner, "\n")
            for (j = 1; j <= m; j++) {
                if (inner[j] ~ /^not ok/) show = 1
                else if (inner[j] ~ /^(ok [0-9]|1\.\.)/) show = 0
                if (show) out = out "  runtimetest| " inner[j] "\n"
            }
        } else if (l[i] ~ /^ *"(stderr|error)": "./) {
            m = split(value(l[i]), inner, "\n")
            for (j = 1; j <= m; j++)
                if (inner[j] != "") more = more "  runtimetest " (l[i] ~ /stderr/ ? "stderr" : "error") "| " inner[j] "\n"
        }
    }
    return out more
}
function record(st, where, d) {
    if (mode == "records") printf "%s\t%s\t%d\t%s\n", st, where, ++seen[st == "diag", d], d
}
function orphan(start, blk, err, first) {
    record("diag", "@" start, "diagnostic: " (err != "" ? err : first))
    if (mode == "detail" && w == "@" start) printf "%s", (blk ~ /\n *"stdout": / ? dump(blk) : blk)
}
inyaml {
    blk = blk $0 "\n"
    line = $0
    sub(/^ +/, "", line)
    if (line ~ /^"error": /) { err = value(line); sub(/\n.*/, "", err) }
    else if (first == "" && line !~ /^[{}]$/ && line != "...") first = line
    if ($0 !~ /^  \.\.\.$/) next
    inyaml = 0
    if (blk ~ /\n *"stdout": /) {
        if (dumped != "") orphan(dumpstart, dumped, "", "runtimetest output")
        dumped = blk; dumpstart = start
    } else if (attached) {
        if (on) printf "%s", blk
    } else
        orphan(start, blk, err, first)
    attached = 0
    next
}
/^  ---$/ { inyaml = 1; blk = $0 "\n"; start = NR; err = ""; first = ""; next }
/^# / { if (on) print; next }
/^(not )?ok [0-9]+/ {
    st = ($1 == "not") ? "fail" : "ok"
    num = ($1 == "not") ? $3 : $2
    d = $0
    sub(/^(not )?ok [0-9]+ ?/, "", d)
    if (d ~ /^# [Ss][Kk][Ii][Pp]/) { st = "skip"; sub(/^# [^ ]+ ?/, "", d) }
    else if (d ~ /^# [Tt][Oo][Dd][Oo]/) { st = "todo"; sub(/^# [^ ]+ ?/, "", d) }
    else sub(/^- ?/, "", d)
    record(st, num, d)
    on = (mode == "detail" && num == w)
    if (on) printf "%s\n%s", $0, (dumped != "" ? dump(dumped) : "")
    dumped = ""; attached = 1
    next
}
/^1\.\.[0-9]+/ { on = 0; attached = 0 }
END { if (dumped != "") orphan(dumpstart, dumped, "", "runtimetest output") }
'

tap_records() { awk -v mode=records "$TAP_AWK" "$1"; }
tap_detail() { awk -v mode=detail -v w="$2" "$TAP_AWK" "$1"; }

# "OK FAIL SKIP DIAG PLAN" for a record file and its TAP file; PLAN is 1 when
# a plan line is there and matches the number of assertions.
tap_counts() {
    local plan
    plan=$(awk '
        /^(not )?ok [0-9]+/ { n++ }
        /^1\.\.[0-9]+/ { split($1, p, /\.\./); plan = p[2] }
        END { print (plan != "" && plan + 0 == n) ? 1 : 0 }' "$2")
    awk -F'\t' -v plan="$plan" '
        { c[$1 == "todo" ? "skip" : $1]++ }
        END { printf "%d %d %d %d %d\n", c["ok"], c["fail"], c["skip"], c["diag"], plan }' "$1"
}

# ---------------------------------------------------------------------------
SRC=${RUNTIME_TOOLS_SRC:-}
RUNTIMES=runc,crun,skiff
FILTER=
LIMIT=60
OUT=
BUILD=1
REPORT_ONLY=0
while [[ $# -gt 0 ]]; do
    case $1 in
    -r | --runtimes) RUNTIMES=${2:?}; shift ;;
    -t | --tests) FILTER=${2:?}; shift ;;
    -T | --timeout) LIMIT=${2:?}; shift ;;
    -o | --out) OUT=${2:?}; shift ;;
    --no-build) BUILD=0 ;;
    --report-only) REPORT_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    -*) die "unknown option $1 (--help)" ;;
    *) SRC=$1 ;;
    esac
    shift
done
[[ $LIMIT =~ ^[0-9]+$ ]] || die "--timeout wants seconds, not $LIMIT"
IFS=, read -r -a WANTED <<<"$RUNTIMES"
for name in "${WANTED[@]}"; do
    [[ $name =~ ^(runc|crun|skiff)$ ]] || die "unknown runtime $name (runc, crun or skiff)"
done
REPO=$(cd "$(dirname "$0")/.." && pwd)
SELF=$REPO/contrib/${0##*/}
T0=$SECONDS
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/runtime-tools-scratch.XXXXXX")
# --one-file-system: never follow a mount a test may have left behind.
trap 'rm -rf --one-file-system "$SCRATCH"' EXIT

TESTS=() # validation/NAME/NAME.t, relative to the checkout
RAN=()   # the runtimes with results

if [[ $REPORT_ONLY == 1 ]]; then
    [[ -n $OUT && -d $OUT ]] || die "--report-only needs --out DIR with earlier results"
    for name in "${WANTED[@]}"; do
        [[ -d $OUT/$name ]] && RAN+=("$name")
    done
    [[ ${#RAN[@]} -gt 0 ]] || die "no results in $OUT"
    for f in "$OUT/${RAN[0]}"/*.tap; do
        base=${f##*/}
        base=${base%.tap}
        [[ -z $FILTER || $base =~ $FILTER ]] && TESTS+=("validation/$base/$base.t")
    done
else
    if [[ -z $SRC || ! -f $SRC/validation/util/test.go ]]; then
        if [[ -z $SRC ]]; then
            echo "runtime-tools.sh: give a runtime-tools checkout (argument or RUNTIME_TOOLS_SRC)." >&2
        else
            echo "runtime-tools.sh: $SRC is not a runtime-tools checkout." >&2
        fi
        cat >&2 <<END
This script downloads nothing. Get a checkout where GitHub is reachable:
    git clone https://github.com/opencontainers/runtime-tools
    git -C runtime-tools checkout $COMMIT
(it vendors its Go dependencies, so it builds offline), then run
    $0 path/to/runtime-tools
END
        exit 2
    fi
    SRC=$(cd "$SRC" && pwd)
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

    # 1. Build, offline.
    if [[ $BUILD == 1 ]]; then
        command -v go >/dev/null || die "go is missing (Debian: apt-get install golang-go)"
        echo "== building runtimetest and the validation executables in $SRC" >&2
        (
            cd "$SRC"
            export GOFLAGS=-mod=vendor GOPROXY=off GOTOOLCHAIN=local GO111MODULE=on
            export GOCACHE=${GOCACHE:-$SCRATCH/gocache} GOPATH=${GOPATH:-$SCRATCH/gopath}
            make runtimetest validation-executables
        ) >"$OUT/build.log" 2>&1 || {
            tail -n 20 "$OUT/build.log" >&2
            die "build failed (log: $OUT/build.log)"
        }
    fi
    [[ -x $SRC/runtimetest ]] || die "$SRC/runtimetest is missing (drop --no-build)"
    while IFS= read -r t; do
        base=${t##*/}
        base=${base%.t}
        [[ -z $FILTER || $base =~ $FILTER ]] && TESTS+=("$t")
    done < <(cd "$SRC" && find validation -mindepth 2 -maxdepth 2 -name '*.t' -type f | sort)

    # 2. The passes, each runtime behind a wrapper with its own state directory.
    HYBRID=0
    if [[ $(stat -f -c %T /sys/fs/cgroup) != cgroup2fs &&
        $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        HYBRID=1
    fi
    mkdir -p "$SCRATCH/bin" "$SCRATCH/tmp"
    # Not 0700: a container with a user namespace must reach its bundle.
    chmod 755 "$SCRATCH" "$SCRATCH/tmp"
    # Empty cgroups the tests leave are removed after each file, unless some
    # were there before (then they are not ours to touch).
    CLEAN_CGROUPS=1
    if [[ -n $(suite_cgroups) ]]; then
        echo "runtime-tools.sh: note: test cgroups predate this run, so none is removed:" \
            "$(suite_cgroups | tr '\n' ' ')" >&2
        CLEAN_CGROUPS=0
    fi
    for name in "${WANTED[@]}"; do
        case $name in
        runc) cmd=("${RUNC:-runc}"); log= ;;
        crun) cmd=("${CRUN:-crun}"); log= ;;
        skiff)
            skiff=${SKIFF:-}
            if [[ -z $skiff && -x $REPO/target/release/skiff ]]; then
                skiff=$REPO/target/release/skiff
            fi
            # Its errors also go to a log (stderr stays as it is), as the
            # tests do not always show them.
            log=$SCRATCH/skiff.log
            cmd=("${skiff:-skiff}" runtime --log "$log")
            ;;
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
            # shellcheck disable=SC2016 # "$@" is for the wrapper
            printf ' "$@"\n'
        } >"$wrapper"
        chmod +x "$wrapper"
        rm -rf "${OUT:?}/$name"
        mkdir -p "$OUT/$name"

        launch=()
        note=
        if [[ $name == crun && $HYBRID == 1 ]]; then
            command -v unshare >/dev/null || die "unshare is missing (crun on a hybrid cgroup host)"
            # An empty tmpfs in its place: crun writes there then, and
            # that is gone with the namespace.
            launch=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified &&
                mount -t tmpfs -o mode=755,size=1m tmpfs /sys/fs/cgroup/unified && exec "$@"' sh)
            note=", in a mount namespace with a tmpfs for /sys/fs/cgroup/unified"
        fi
        echo "== $name pass: ${#TESTS[@]} test files ($exe$note)" >&2
        start=$SECONDS
        TMPDIR=$SCRATCH/tmp CLEAN_CGROUPS=$CLEAN_CGROUPS "${launch[@]}" "$BASH" "$SELF" --pass "$SRC" "$name" \
            "$wrapper" "$log" "$OUT/$name" "$LIMIT" "${TESTS[@]}"
        echo "$((SECONDS - start))" >"$OUT/$name.secs"
        echo "== $name pass: $((SECONDS - start))s" >&2
        RAN+=("$name")
    done
    [[ ${#RAN[@]} -gt 0 ]] || die "no runtime to test"
fi
[[ ${#TESTS[@]} -gt 0 ]] || die "no validation executables${FILTER:+ matching $FILTER}"

# 3. Report.
declare -A CELL
for name in "${RAN[@]}"; do
    for t in "${TESTS[@]}"; do
        base=${t##*/}
        base=${base%.t}
        tap_records "$OUT/$name/$base.tap" >"$OUT/$name/$base.rec"
        read -r ok fail skip diag plan < <(tap_counts "$OUT/$name/$base.rec" "$OUT/$name/$base.tap")
        rc=$(cat "$OUT/$name/$base.rc")
        # Exit as shown: T/O for a timeout, * for a missing or wrong TAP plan.
        [[ $rc == 124 || $rc == 137 ]] && rc=T/O
        [[ $plan == 1 ]] || rc+='*'
        CELL[$name/$base]="$ok $fail $skip $diag $rc"
    done
done

echo
version=
[[ -n $SRC ]] && version=$(git -C "$SRC" describe --always --tags 2>/dev/null || true)
echo "runtime-tools ${version:-(version unknown)}, results in $OUT"
printf '%-34s' ''
for name in "${RAN[@]}"; do printf ' | %-25s' "$name"; done | sed 's/ *$//'
printf '\n%-34s' 'test'
for _ in "${RAN[@]}"; do printf ' | %4s %4s %4s %4s %5s' ok nok skip diag exit; done
echo
declare -A TOT
for t in "${TESTS[@]}"; do
    base=${t##*/}
    base=${base%.t}
    printf '%-34s' "$base"
    for name in "${RAN[@]}"; do
        read -r ok fail skip diag rc <<<"${CELL[$name/$base]}"
        for k in ok fail skip diag; do
            TOT[$name.$k]=$((${TOT[$name.$k]:-0} + ${!k}))
        done
        printf ' | %4d %4d %4d %4d %5s' "$ok" "$fail" "$skip" "$diag" "$rc"
    done
    echo
done
printf '%-34s' total
for name in "${RAN[@]}"; do
    printf ' | %4d %4d %4d %4d %5s' "${TOT[$name.ok]}" "${TOT[$name.fail]}" \
        "${TOT[$name.skip]}" "${TOT[$name.diag]}" "$(cat "$OUT/$name.secs")s"
done
echo
echo "(diag: error reports that follow no assertion; exit: T/O = killed after ${LIMIT}s,"
echo " * = TAP plan missing or not matching the assertions; total exit: the pass's time)"

REFS=()
for name in "${RAN[@]}"; do [[ $name != skiff ]] && REFS+=("$name"); done
if [[ ! -d $OUT/skiff || ${#REFS[@]} == 0 ]]; then
    echo
    echo "no differential: it needs the skiff pass and runc's or crun's"
    echo "wall time: $((SECONDS - T0))s"
    exit 0
fi

# The differential, per test file:
#  - assertions (matched on description and ordinal) that are ok with a
#    reference runtime and not ok, skipped or absent with skiff; only the
#    references that passed the file (exit 0) count, as a test exits non-zero
#    when it finds the runtime wrong outside its assertions (it may have
#    expected the container not to start at all);
#  - error reports outside assertions that skiff gives and no reference does;
#  - skiff's exit (or TAP plan) going wrong where a reference's does not.
# OUT/differential.txt gets it all; the screen gets runs of absent assertions
# folded.
DIFF=0
FULL=$OUT/differential.txt
: >"$FULL"
for t in "${TESTS[@]}"; do
    base=${t##*/}
    base=${base%.t}
    good=()
    for name in "${REFS[@]}"; do
        [[ $(cat "$OUT/$name/$base.rc") == 0 ]] && good+=("$name")
    done
    # One stream: RUNTIME <tab> record, skiff last.
    lines=$(for name in "${REFS[@]}" skiff; do
        sed "s/^/$name\t/" "$OUT/$name/$base.rec"
    done | awk -F'\t' -v good=",$(IFS=,; echo "${good[*]}")," '
        $1 == "skiff" {
            k = $4 SUBSEP $5; st[k] = $2; where[k] = $3
            if ($2 == "diag") diags[++nd] = k
            if ($2 == "fail") fails[++nf] = k
            next
        }
        { known[$4 SUBSEP $5] = 1 }
        $2 == "ok" && index(good, "," $1 ",") {
            k = $4 SUBSEP $5
            if (!(k in by)) { order[++n] = k; desc[k] = $5; ref[k] = $3 }
            by[k] = by[k] (by[k] == "" ? "" : ",") $1
        }
        END {
            for (i = 1; i <= n; i++) {
                k = order[i]
                s = (k in st) ? st[k] : "absent"
                if (s != "ok")
                    printf "%s\t%s\t%s\t%s\t%s\n", s, (k in where) ? where[k] : "-", ref[k], by[k], desc[k]
            }
            for (i = 1; i <= nd; i++)
                if (!(diags[i] in known)) printf "diag\t%s\t-\t-\t-\n", where[diags[i]]
            for (i = 1; i <= nf; i++)
                if (!(fails[i] in known)) printf "other\t%s\t-\t-\t-\n", where[fails[i]]
        }')
    read -r _ _ _ _ src <<<"${CELL[skiff/$base]}"
    clean=()
    for name in "${REFS[@]}"; do
        read -r _ _ _ _ rc <<<"${CELL[$name/$base]}"
        [[ $rc == 0 ]] && clean+=("$name")
    done
    if [[ $src != 0 && ${#clean[@]} -gt 0 ]]; then
        lines+=${lines:+$'\n'}$(printf 'exit\t-\t-\t%s\t-' "$(IFS=,; echo "${clean[*]}")")
    fi
    [[ -z $lines ]] && continue
    n=$(grep -vc '^other' <<<"$lines" || true)
    [[ $n == 0 ]] && continue
    DIFF=$((DIFF + n))
    {
        echo "--- $base: $n (skiff exit $src)"
        stderr=0
        other=0
        while IFS=$'\t' read -r st where refnum by desc; do
            case $st in
            fail | skip | todo)
                tap_detail "$OUT/skiff/$base.tap" "$where" | sed 's/^/    /'
                echo "      (ok with $by)"
                ;;
            absent)
                stderr=1
                echo "    absent: $refnum - $desc   (ok with $by)"
                ;;
            diag)
                echo "    error report outside any assertion, which no reference gives:"
                tap_detail "$OUT/skiff/$base.tap" "$where" | sed 's/^/    /'
                for name in "${REFS[@]}"; do
                    awk -F'\t' -v n="$name" '$1 == "diag" { print "      (" n " gives: " $4 ")" }' \
                        "$OUT/$name/$base.rec"
                done
                ;;
            exit)
                stderr=1
                echo "    exit $src (0 with $by)"
                ;;
            other)
                [[ $other == 1 ]] || echo "    and, not counted, with no counterpart in the references:"
                other=1
                tap_detail "$OUT/skiff/$base.tap" "$where" | sed 's/^/    /'
                ;;
            esac
        done <<<"$lines"
        if [[ $stderr == 1 && -s $OUT/skiff/$base.err ]]; then
            echo "    test stderr (last lines):"
            tail -n 6 "$OUT/skiff/$base.err" | sed 's/^/      | /'
        fi
        if [[ -s $OUT/skiff/$base.log ]]; then
            echo "    skiff runtime log (last lines):"
            tail -n 6 "$OUT/skiff/$base.log" | sed 's/^/      | /'
        fi
    } >>"$FULL"
done

for kind in mounts cgroups; do
    left=()
    for name in "${RAN[@]}"; do
        for f in "$OUT/$name"/*."$kind"; do
            [[ -e $f ]] || continue
            base=${f##*/}
            left+=("$name/${base%."$kind"} ($(grep -c . "$f"))")
        done
    done
    if [[ ${#left[@]} -gt 0 ]]; then
        case $kind in
        mounts) echo "left mounted on the host (then unmounted): ${left[*]}" ;;
        cgroups) echo "left test cgroups that could not be removed: ${left[*]}" ;;
        esac
    fi
done

echo
echo "== differential (ok with $(IFS=/; echo "${REFS[*]}"), not with skiff): $DIFF"
awk '
    function flush(   i) {
        if (n > 5) { print a[1]; print a[2]; print a[3]; print "    ... and " n - 4 " more absent ..."; print a[n] }
        else for (i = 1; i <= n; i++) print a[i]
        n = 0
    }
    /^    absent: / { a[++n] = $0; next }
    { flush(); print }
    END { flush() }' "$FULL"
echo "(in full: $FULL)"
echo "wall time: $((SECONDS - T0))s"
[[ $DIFF == 0 ]]
