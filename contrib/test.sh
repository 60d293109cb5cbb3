#!/usr/bin/env bash
# contrib/test.sh - run skiff's whole test suite the way CI does.
#
# usage: contrib/test.sh [--no-lint] [--root-only | --rootless-only] [-- ARGS...]
#
#   1. lint: cargo fmt --check, cargo clippy -D warnings   (--no-lint skips)
#   2. build every test binary once (cargo test --no-run)
#   3. build the fixture images once (tests/fixtures/build-images.sh)
#   4. root pass: unit and integration tests as root
#   4b. crun pass: the container suites again with crun as the runtime, as
#      root, when crun is installed (on a hybrid cgroup host, in a private
#      mount namespace without the empty v2 mount, which crun refuses)
#   4c. runc pass: the container suites with runc, when it is installed
#      (the other passes use skiff's own runtime, the default)
#   5. rootless pass: integration tests as $SKIFF_TEST_USER (default
#      skifftest, which needs /etc/subuid and /etc/subgid entries: see
#      .ci/run) through runuser, with a private XDG_RUNTIME_DIR; then the
#      container suites with runc, rootless
#
# Run by a normal user, step 4 is left out and step 5 runs as that user,
# unit tests included. ARGS go to every test binary: a test name filter,
# --nocapture, --test-threads N, ...
#
# Environment: SKIFF_TEST_USER; SKIFF_TEST_KEEP=1 keeps the work directory;
# CARGO (default cargo); CI=true turns a missing tool into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

LINT=1
MODE=both
ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --no-lint) LINT=0 ;;
        --root-only) MODE=root ;;
        --rootless-only) MODE=rootless ;;
        --) shift; ARGS=("$@"); break ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

CARGO=${CARGO:-cargo}
TEST_USER=${SKIFF_TEST_USER:-skifftest}
ME=$(id -u)
TIMES=()
FAILED=()

say() { printf '\n==> %s\n' "$*"; }
die() { echo "test.sh: $*" >&2; exit 1; }
timed() { # NAME START: record how long a phase took
    TIMES+=("$(printf '%5ds  %s' $((SECONDS - $2)) "$1")")
}

command -v jq >/dev/null || die "jq is required (apt-get install jq)"
command -v "$CARGO" >/dev/null || die "$CARGO not found"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/skiff-test.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    if [[ ${SKIFF_TEST_KEEP:-} == 1 ]]; then
        echo "test.sh: keeping $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------
if [[ $LINT == 1 ]]; then
    t=$SECONDS
    say "lint"
    "$CARGO" fmt --all -- --check
    "$CARGO" clippy --workspace --all-targets -- -D warnings
    timed lint "$t"
fi

# ---------------------------------------------------------------------------
t=$SECONDS
say "build"
"$CARGO" build --workspace --bins --message-format=json-render-diagnostics >"$WORK/build.json"
"$CARGO" test --workspace --no-run --message-format=json-render-diagnostics >>"$WORK/build.json"
# kind (lib, bin, test), test binary, package directory
jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test)
       | [.target.kind[0], .executable, (.manifest_path | rtrimstr("/Cargo.toml"))] | @tsv' \
    "$WORK/build.json" | sort -u >"$WORK/tests.tsv"
# Copies anyone can read: the checkout may sit in root's private home.
mkdir -p "$WORK/bin" "$WORK/tests"
jq -r 'select(.reason == "compiler-artifact" and .executable != null and (.profile.test | not))
       | .executable' "$WORK/build.json" | sort -u | while read -r exe; do
    cp "$exe" "$WORK/bin/"
done
: >"$WORK/unit.tsv"
: >"$WORK/integration.tsv"
while IFS=$'\t' read -r kind exe dir; do
    if [[ $kind == test ]]; then
        cp "$exe" "$WORK/tests/"
        printf '%s\t%s\n' "$WORK/tests/${exe##*/}" "$dir" >>"$WORK/integration.tsv"
    else
        printf '%s\t%s\n' "$exe" "$dir" >>"$WORK/unit.tsv"
    fi
done <"$WORK/tests.tsv"
cp tests/fixtures/build-images.sh "$WORK/build-images.sh"
[[ -x $WORK/bin/skiff ]] || die "no skiff binary was built"
timed build "$t"

t=$SECONDS
say "fixtures"
bash tests/fixtures/build-images.sh "$WORK/fixtures"
chmod -R a+rX "$WORK"
timed fixtures "$t"

# Variables every pass gets.
COMMON_ENV=(
    "CI=${CI:-}"
    "RUST_BACKTRACE=${RUST_BACKTRACE:-1}"
    "SKIFF_BIN=$WORK/bin/skiff"
    "SKIFF_TEST_FIXTURES=$WORK/fixtures"
    "SKIFF_TEST_FIXTURES_SCRIPT=$WORK/build-images.sh"
)

# Set by a pass that needs them: a command line the test binaries run
# under, and variables added to COMMON_ENV.
WRAP=()
PASS_ENV=()

# run_pass NAME USER LIST...: run the test binaries listed in LIST files
# (lines "BINARY<TAB>PACKAGE_DIR"), as USER ("" = the current user).
run_pass() {
    local name=$1 user=$2 t=$SECONDS exe dir rc
    shift 2
    local log=$WORK/$name.log skips=$WORK/$name.skips
    : >"$log"
    : >"$skips"
    local -a run env=("${COMMON_ENV[@]}" "${PASS_ENV[@]}" "SKIFF_TEST_SKIP_LOG=$skips")
    if [[ -n $user ]]; then
        local uid home xdg
        uid=$(id -u "$user")
        home=$(getent passwd "$user" | cut -d: -f6)
        xdg=$WORK/run-$uid
        install -d -m 700 -o "$user" -g "$(id -g "$user")" "$xdg"
        chown "$user" "$skips"
        run=(runuser -u "$user" -- env -i "${env[@]}"
            "PATH=$WORK/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
            "HOME=$home" "USER=$user" "LOGNAME=$user" "SHELL=/bin/sh" "LANG=C.UTF-8"
            "XDG_RUNTIME_DIR=$xdg")
    else
        run=("${WRAP[@]}" env "${env[@]}" "PATH=$WORK/bin:$PATH")
    fi
    say "$name pass${user:+ (as $user)}"
    while IFS=$'\t' read -r exe dir; do
        [[ -n $user ]] && dir=$WORK
        echo "--- ${exe##*/}"
        rc=0
        (cd "$dir" && "${run[@]}" "$exe" "${ARGS[@]}") 2>&1 </dev/null | tee -a "$log" || rc=$?
        [[ $rc == 0 ]] || FAILED+=("$name: ${exe##*/} (exit $rc)")
    done < <(cat "$@")
    timed "$name pass" "$t"
}

# ---------------------------------------------------------------------------
# The suites that run containers: once more with crun and with runc (the
# default runtime is skiff's own).
CONTAINER_SUITES='/(containers|commit|run|run_options|lifecycle|exec_attach|observe|rootless|userns|network|pasta|slirp|bridge|pods)-[0-9a-f]+'$'\t'
grep -E "$CONTAINER_SUITES" "$WORK/integration.tsv" >"$WORK/containers.tsv" || true

if [[ $ME == 0 ]]; then
    if [[ $MODE != rootless ]]; then
        run_pass root "" "$WORK/unit.tsv" "$WORK/integration.tsv"
        if command -v crun >/dev/null; then
            PASS_ENV=("SKIFF_TEST_RUNTIME=crun")
            if mountpoint -q /sys/fs/cgroup/unified; then
                WRAP=(unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh)
            fi
            run_pass crun "" "$WORK/containers.tsv"
            PASS_ENV=()
            WRAP=()
        elif [[ ${CI:-} == true ]]; then
            die "crun is not installed (see .ci/run)"
        fi
    fi
    if [[ $MODE != rootless ]]; then
        if command -v runc >/dev/null; then
            PASS_ENV=("SKIFF_TEST_RUNTIME=runc")
            run_pass runc "" "$WORK/containers.tsv"
            PASS_ENV=()
        elif [[ ${CI:-} == true ]]; then
            die "runc is not installed (see .ci/run)"
        fi
    fi
    if [[ $MODE != root ]]; then
        if ! id -u "$TEST_USER" >/dev/null 2>&1; then
            [[ ${CI:-} == true ]] && die "no user $TEST_USER for the rootless pass (see .ci/run)"
            echo "test.sh: no user $TEST_USER: skipping the rootless pass (useradd -m $TEST_USER)"
        else
            grep -q "^$TEST_USER:" /etc/subuid 2>/dev/null ||
                echo "test.sh: warning: $TEST_USER has no /etc/subuid range"
            run_pass rootless "$TEST_USER" "$WORK/integration.tsv"
            if command -v runc >/dev/null; then
                PASS_ENV=("SKIFF_TEST_RUNTIME=runc")
                run_pass runc-rootless "$TEST_USER" "$WORK/containers.tsv"
                PASS_ENV=()
            fi
        fi
    fi
else
    [[ $MODE == root ]] && die "--root-only needs root"
    run_pass rootless "" "$WORK/unit.tsv" "$WORK/integration.tsv"
fi

# ---------------------------------------------------------------------------
say "summary"
for log in "$WORK"/*.log; do
    [[ -e $log ]] || continue
    pass=$(basename "$log" .log)
    awk -v pass="$pass" '/^test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i + 1) ~ /^passed/) p += $i
                if ($(i + 1) ~ /^failed/) f += $i
                if ($(i + 1) ~ /^ignored/) g += $i
            }
        }
        END { printf "%-9s %5d passed, %d failed, %d ignored\n", pass, p, f, g }' "$log"
    skips=$WORK/$pass.skips
    if [[ -s $skips ]]; then
        echo "  skipped ($(sort -u "$skips" | wc -l)):"
        sort -u "$skips" | sed 's/^SKIP /    /'
    fi
done
echo "timings:"
printf '  %s\n' "${TIMES[@]}"
if [[ ${#FAILED[@]} -gt 0 ]]; then
    echo "FAILED:"
    printf '  %s\n' "${FAILED[@]}"
    exit 1
fi
echo "all passes succeeded"
