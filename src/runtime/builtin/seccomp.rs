//! Seccomp filters compiled to BPF: the runtime spec's `linux.seccomp`
//! turned into the classic BPF program seccomp(2) runs on every system call,
//! with the semantics runc and crun get from libseccomp but without it; an
//! on-disk cache of compiled programs; and loading a program in the
//! container's init process right before execve(2).
//!
//! A program checks, in this order (seccomp(2), "Filter return values"):
//!
//! 1. `seccomp_data.arch`: a call from another ABI than the native one (i386
//!    or x32 binaries on x86_64, arm binaries on aarch64) gets the default
//!    action. Only the native system call numbers are compiled: the profile's
//!    `architectures` list is accepted but other architectures are not
//!    filtered by their own numbers, so with an allowlist profile foreign
//!    binaries fail rather than run unfiltered.
//! 2. On x86_64, a number with `__X32_SYSCALL_BIT` set (an x32 call, which the
//!    kernel reports with the x86_64 arch) gets the default action, so that a
//!    rule written for native numbers never matches one.
//! 3. A binary search (`jge`) over the ranges of system call numbers that
//!    share one outcome, so that a call costs O(log n) comparisons.
//! 4. For a call with argument rules, its rules in profile order: the first
//!    whose comparisons all hold decides, none holding means the default
//!    action. Arguments are compared as 64-bit unsigned values, high and low
//!    32-bit words apart (the machine is little endian).
//!
//! Conditional BPF jumps reach at most 255 instructions ahead; the program is
//! assembled backwards from its end, so every target is known when a jump is
//! written, and a far target is reached through an unconditional `ja` (or a
//! copy of the `ret` it leads to) placed right after the jump.
#![allow(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::Path;
use std::sync::OnceLock;

use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use sha2::{Digest, Sha256};

/// How far a conditional jump reaches: its offsets are 8 bits.
const MAX_JUMP: usize = u8::MAX as usize;

/// The kernel's limit on the length of a classic BPF program
/// (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// Bumped whenever the code generator or the cache file layout changes, so
/// that programs cached by an older skiff are not reused.
const FORMAT_VERSION: u32 = 1;

/// `AUDIT_ARCH_*` from linux/audit.h, as `seccomp_data.arch` reports them.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

/// x32 system calls are x86_64 calls with this bit set in their number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offsets into `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARGS: u32 = 16;

/// The errno an `SCMP_ACT_ERRNO` or `SCMP_ACT_TRACE` without `errnoRet`
/// returns, as runc does.
const DEFAULT_ERRNO: u32 = libc::EPERM.unsigned_abs();

/// Why a seccomp profile cannot be compiled.
#[derive(Debug, thiserror::Error)]
pub enum SeccompCompileError {
    #[error("seccomp profile names unknown system call {name:?}")]
    UnknownSyscall { name: String },
    #[error("seccomp action {action} is not supported by skiff's runtime")]
    UnsupportedAction { action: LinuxSeccompAction },
    #[error(
        "seccomp filters cannot be compiled for the {arch} architecture (only x86_64 and aarch64)"
    )]
    UnsupportedArch { arch: &'static str },
    #[error("seccomp rule for {name:?} compares argument {index}, but system calls have arguments 0 to 5")]
    ArgumentIndex { name: String, index: usize },
    #[error("seccomp errnoRet {errno} is out of range (at most 65535)")]
    ErrnoOutOfRange { errno: u32 },
    #[error("seccomp filter needs {len} BPF instructions, more than the kernel's limit of 4096")]
    TooLong { len: usize },
}

/// A compiled filter: BPF instructions and the `seccomp(2)` flags to load
/// them with.
#[derive(Debug, Clone)]
pub struct Program {
    filter: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
}

impl Program {
    /// The number of BPF instructions.
    pub fn len(&self) -> usize {
        self.filter.len()
    }

    /// Whether the program has no instructions (a compiled one never does).
    pub fn is_empty(&self) -> bool {
        self.filter.is_empty()
    }

    /// The BPF instructions.
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.filter
    }

    /// The `SECCOMP_FILTER_FLAG_*` bits the program is loaded with.
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// Install the filter on the calling thread (on all threads with
    /// `SECCOMP_FILTER_FLAG_TSYNC`) with `seccomp(SECCOMP_SET_MODE_FILTER)`.
    ///
    /// The caller must have set no_new_privs (`PR_SET_NO_NEW_PRIVS`) or hold
    /// CAP_SYS_ADMIN. Meant for a freshly forked child right before execve:
    /// it allocates nothing. With TSYNC, a thread that cannot be synchronised
    /// is reported as ESRCH.
    pub fn load(&self) -> io::Result<()> {
        let Ok(len) = libc::c_ushort::try_from(self.filter.len()) else {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        };
        let prog = libc::sock_fprog {
            len,
            // The kernel only reads the program; the pointer is mutable in
            // the C declaration only.
            filter: self.filter.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points to `len` initialised instructions owned by
        // `self`, which outlives the call; the kernel copies the program
        // before returning and writes to no memory of ours.
        let res = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        match res {
            0 => Ok(()),
            // TSYNC: the id of a thread that could not be synchronised.
            r if r > 0 => Err(io::Error::from_raw_os_error(libc::ESRCH)),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// The cache file form: magic, format version, flags, instruction count,
    /// the instructions, and a SHA-256 of everything before it.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CACHE_HEADER + self.filter.len() * 8 + 32);
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // c_ulong is u64 on the 64-bit targets filters are compiled for.
        #[allow(clippy::useless_conversion)]
        let flags = u64::from(self.flags);
        out.extend_from_slice(&flags.to_le_bytes());
        // At most MAX_INSTRUCTIONS, checked by the compiler.
        out.extend_from_slice(&(self.filter.len() as u32).to_le_bytes());
        for insn in &self.filter {
            out.extend_from_slice(&insn.code.to_le_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_le_bytes());
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// A program from its cache file form; `None` for anything short,
    /// corrupt or written by another format version.
    fn decode(bytes: &[u8]) -> Option<Program> {
        let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if Sha256::digest(body).as_slice() != sum {
            return None;
        }
        let (header, insns) = body.split_at_checked(CACHE_HEADER)?;
        let (magic, rest) = header.split_at(CACHE_MAGIC.len());
        let (version, rest) = rest.split_at(4);
        let (flags, count) = rest.split_at(8);
        if magic != CACHE_MAGIC || u32::from_le_bytes(version.try_into().ok()?) != FORMAT_VERSION {
            return None;
        }
        let flags = libc::c_ulong::try_from(u64::from_le_bytes(flags.try_into().ok()?)).ok()?;
        let count = usize::try_from(u32::from_le_bytes(count.try_into().ok()?)).ok()?;
        if count == 0 || count > MAX_INSTRUCTIONS || insns.len() != count * 8 {
            return None;
        }
        let filter = insns
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Some(Program { filter, flags })
    }
}

const CACHE_MAGIC: &[u8; 8] = b"skiffbpf";
/// Magic, version, flags, count.
const CACHE_HEADER: usize = 8 + 4 + 8 + 4;

/// Whether [`compile_cached_outcome`] found the program in its cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Read from the cache, not compiled.
    Hit,
    /// Compiled (and stored, if the cache directory is writable).
    Compiled,
}

/// Compile `s` into a BPF program for the native architecture (see the
/// module documentation for its layout). A system call name the native
/// architecture lacks but another Linux architecture has is skipped, as
/// podman's profiles expect; any other unknown name is an error.
pub fn compile(s: &LinuxSeccomp) -> Result<Program, SeccompCompileError> {
    compile_with_reach(s, MAX_JUMP)
}

/// [`compile`] with conditional jumps reaching at most `reach` instructions
/// (tests shrink it to exercise the bridges).
fn compile_with_reach(s: &LinuxSeccomp, reach: usize) -> Result<Program, SeccompCompileError> {
    let native = Native::current()?;
    let default = action(s.default_action(), s.default_errno_ret())?;
    let mut by_number: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    for call in s.syscalls().iter().flatten() {
        let action = action(call.action(), call.errno_ret())?;
        let comparisons = comparisons(call)?;
        for name in call.names() {
            let Some(nr) = native.number(name) else {
                // podman's and Docker's profiles name the calls of every
                // architecture in one list.
                if is_linux_syscall(name) {
                    continue;
                }
                return Err(SeccompCompileError::UnknownSyscall { name: name.clone() });
            };
            let rules = by_number.entry(nr).or_default();
            // After an unconditional rule, later ones never decide.
            if rules.last().is_some_and(|r| r.comparisons.is_empty()) {
                continue;
            }
            rules.push(Rule {
                action,
                comparisons: comparisons.clone(),
            });
        }
    }
    // Rules at the end of a chain that give the default action change
    // nothing: the chain falls through to it anyway.
    for rules in by_number.values_mut() {
        while rules.last().is_some_and(|r| r.action == default) {
            rules.pop();
        }
    }
    by_number.retain(|_, rules| !rules.is_empty());

    let ranges = ranges(&by_number);
    let filter = Codegen::new(default, reach).program(&native, &ranges)?;
    Ok(Program {
        filter,
        flags: filter_flags(s),
    })
}

/// [`compile`] with an on-disk cache in `cache_dir` (created if missing),
/// keyed by a SHA-256 of the profile, the native architecture and the
/// compiler's format. A cache that cannot be read or written only costs a
/// compilation (and a warning), never the container.
pub fn compile_cached(s: &LinuxSeccomp, cache_dir: &Path) -> Result<Program, SeccompCompileError> {
    compile_cached_outcome(s, cache_dir).map(|(program, _)| program)
}

/// [`compile_cached`], also saying whether the program came from the cache.
pub fn compile_cached_outcome(
    s: &LinuxSeccomp,
    cache_dir: &Path,
) -> Result<(Program, CacheOutcome), SeccompCompileError> {
    let native = Native::current()?;
    let key = match cache_key(s, &native) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!("seccomp cache: serialising the profile: {e}");
            return Ok((compile(s)?, CacheOutcome::Compiled));
        }
    };
    let path = cache_dir.join(format!("{key}.bpf"));
    match std::fs::read(&path) {
        Ok(bytes) => match Program::decode(&bytes) {
            Some(program) => return Ok((program, CacheOutcome::Hit)),
            None => tracing::debug!("seccomp cache: {} is corrupt, recompiling", path.display()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("seccomp cache: reading {}: {e}", path.display()),
    }
    let program = compile(s)?;
    if let Err(e) = write_atomically(cache_dir, &path, &program.encode()) {
        tracing::warn!("seccomp cache: writing {}: {e}", path.display());
    }
    Ok((program, CacheOutcome::Compiled))
}

/// Hex SHA-256 of everything a compiled program depends on.
fn cache_key(s: &LinuxSeccomp, native: &Native) -> Result<String, serde_json::Error> {
    let mut h = Sha256::new();
    h.update(b"skiff seccomp\0");
    h.update(FORMAT_VERSION.to_le_bytes());
    h.update(native.name.as_bytes());
    h.update(b"\0");
    // The tables, so that a libc update that adds calls is not served
    // programs compiled without them.
    for (name, nr) in native.libc.iter().chain(native.extra) {
        h.update(name.as_bytes());
        h.update(nr.to_le_bytes());
    }
    h.update(serde_json::to_vec(s)?);
    Ok(hex::encode(h.finalize()))
}

/// Write `bytes` to `path` in `dir` through a temporary file renamed over
/// it, so that a reader never sees a partial file.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The native system call number of `name`, if this architecture has it.
pub fn syscall_number(name: &str) -> Option<u32> {
    Native::current().ok()?.number(name)
}

/// Whether `name` is a Linux system call on any architecture (the names
/// libseccomp knows).
pub fn is_linux_syscall(name: &str) -> bool {
    LINUX_SYSCALLS.binary_search(&name).is_ok()
}

/// The architecture programs are compiled for.
struct Native {
    name: &'static str,
    audit_arch: u32,
    /// x86_64: x32 numbers (`X32_SYSCALL_BIT`) get the default action.
    x32: bool,
    /// `("SYS_read", 0)`: every system call the libc crate numbers.
    libc: &'static [(&'static str, u32)],
    /// Calls newer (or older) than the libc crate's list.
    extra: &'static [(&'static str, u32)],
}

impl Native {
    #[cfg(target_arch = "x86_64")]
    fn current() -> Result<Native, SeccompCompileError> {
        Ok(Native {
            name: "x86_64",
            audit_arch: AUDIT_ARCH_X86_64,
            x32: true,
            libc: X86_64_LIBC,
            extra: X86_64_EXTRA,
        })
    }

    #[cfg(target_arch = "aarch64")]
    fn current() -> Result<Native, SeccompCompileError> {
        Ok(Native {
            name: "aarch64",
            audit_arch: AUDIT_ARCH_AARCH64,
            x32: false,
            libc: AARCH64_LIBC,
            extra: AARCH64_EXTRA,
        })
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    fn current() -> Result<Native, SeccompCompileError> {
        Err(SeccompCompileError::UnsupportedArch {
            arch: std::env::consts::ARCH,
        })
    }

    fn number(&self, name: &str) -> Option<u32> {
        // Built once per process: there is one native architecture.
        static INDEX: OnceLock<HashMap<&'static str, u32>> = OnceLock::new();
        let index = INDEX.get_or_init(|| {
            let libc = self
                .libc
                .iter()
                .map(|&(sys, nr)| (sys.strip_prefix("SYS_").unwrap_or(sys), nr));
            libc.chain(self.extra.iter().copied()).collect()
        });
        index.get(name).copied()
    }
}

/// The `SECCOMP_RET_*` value of an action.
fn action(action: LinuxSeccompAction, errno_ret: Option<u32>) -> Result<u32, SeccompCompileError> {
    let data = || {
        let errno = errno_ret.unwrap_or(DEFAULT_ERRNO);
        if errno > libc::SECCOMP_RET_DATA {
            return Err(SeccompCompileError::ErrnoOutOfRange { errno });
        }
        Ok(errno)
    };
    use LinuxSeccompAction as A;
    Ok(match action {
        A::ScmpActKill | A::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        A::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        A::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        A::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data()?,
        A::ScmpActTrace => libc::SECCOMP_RET_TRACE | data()?,
        A::ScmpActLog => libc::SECCOMP_RET_LOG,
        A::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
        // Needs a listener socket and an agent on the other end.
        A::ScmpActNotify => return Err(SeccompCompileError::UnsupportedAction { action }),
    })
}

fn filter_flags(s: &LinuxSeccomp) -> libc::c_ulong {
    s.flags().iter().flatten().fold(0, |acc, flag| {
        acc | match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
        }
    })
}

/// One rule for one system call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Rule {
    action: u32,
    /// All must hold; none means the rule always applies.
    comparisons: Vec<Comparison>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Comparison {
    index: u32,
    op: Op,
    value: u64,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & value) == value_two`.
    value_two: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

fn comparisons(call: &LinuxSyscall) -> Result<Vec<Comparison>, SeccompCompileError> {
    call.args()
        .iter()
        .flatten()
        .map(|arg| {
            let index = u32::try_from(arg.index())
                .ok()
                .filter(|&i| i < 6)
                .ok_or_else(|| SeccompCompileError::ArgumentIndex {
                    name: call.names().first().cloned().unwrap_or_default(),
                    index: arg.index(),
                })?;
            use LinuxSeccompOperator as O;
            let op = match arg.op() {
                O::ScmpCmpNe => Op::Ne,
                O::ScmpCmpLt => Op::Lt,
                O::ScmpCmpLe => Op::Le,
                O::ScmpCmpEq => Op::Eq,
                O::ScmpCmpGe => Op::Ge,
                O::ScmpCmpGt => Op::Gt,
                O::ScmpCmpMaskedEq => Op::MaskedEq,
            };
            Ok(Comparison {
                index,
                op,
                value: arg.value(),
                value_two: arg.value_two().unwrap_or(0),
            })
        })
        .collect()
}

/// The numbers from each range's start up to the next one's share one
/// outcome: the rules, or `None` for the default action. Starts at 0,
/// ascending, neighbours differ.
type Ranges<'a> = Vec<(u32, Option<&'a [Rule]>)>;

fn ranges(by_number: &BTreeMap<u32, Vec<Rule>>) -> Ranges<'_> {
    fn add<'a>(out: &mut Ranges<'a>, start: u32, rules: Option<&'a [Rule]>) {
        if out.last().is_some_and(|r| r.0 == start) {
            out.pop();
        }
        if out.last().is_some_and(|r| r.1 == rules) {
            return;
        }
        out.push((start, rules));
    }
    let mut out = vec![(0, None)];
    for (&nr, rules) in by_number {
        add(&mut out, nr, Some(rules));
        // Table numbers are far below u32::MAX.
        add(&mut out, nr.saturating_add(1), None);
    }
    out
}

/// Where a jump goes: an instruction already written, or a `ret` of a
/// value (any copy of it will do).
#[derive(Debug, Clone, Copy)]
enum Target {
    Label(usize),
    Ret(u32),
}

/// Writes a program backwards: `rev[0]` is the last instruction, and an
/// instruction's label is its index in `rev`. A jump written now at index
/// `rev.len()` reaches label `l` with offset `rev.len() - l - 1`.
struct Codegen<'a> {
    rev: Vec<libc::sock_filter>,
    default: u32,
    /// How far a conditional jump reaches: 255 but in tests.
    reach: usize,
    /// The latest `ret` of each value.
    rets: HashMap<u32, usize>,
    /// Where each system call's rule chain starts (calls with equal rules
    /// share one).
    chains: HashMap<&'a [Rule], Target>,
}

impl<'a> Codegen<'a> {
    fn new(default: u32, reach: usize) -> Codegen<'a> {
        Codegen {
            rev: Vec::new(),
            default,
            reach: reach.clamp(1, MAX_JUMP),
            rets: HashMap::new(),
            chains: HashMap::new(),
        }
    }

    fn program(
        mut self,
        native: &Native,
        ranges: &[(u32, Option<&'a [Rule]>)],
    ) -> Result<Vec<libc::sock_filter>, SeccompCompileError> {
        let default = Target::Ret(self.default);
        let root = self.search(ranges);
        let entry = self.materialize(root);
        if native.x32 {
            // The number stays in A for the search that follows.
            self.jump(
                libc::BPF_JGE,
                X32_SYSCALL_BIT,
                default,
                Target::Label(entry),
            );
        }
        let load_nr = self.load(DATA_NR);
        self.jump(
            libc::BPF_JEQ,
            native.audit_arch,
            Target::Label(load_nr),
            default,
        );
        self.load(DATA_ARCH);
        if self.rev.len() > MAX_INSTRUCTIONS {
            return Err(SeccompCompileError::TooLong {
                len: self.rev.len(),
            });
        }
        self.rev.reverse();
        Ok(self.rev)
    }

    /// Binary search over `ranges` (the number is in A).
    fn search(&mut self, ranges: &[(u32, Option<&'a [Rule]>)]) -> Target {
        match ranges {
            [] | [(_, None)] => Target::Ret(self.default),
            [(_, Some(rules))] => self.chain(rules),
            _ => {
                let mid = ranges.len() / 2;
                // Written back to front: the upper half ends up after the
                // lower one, which the `jge` falls into.
                let upper = self.search(&ranges[mid..]);
                let lower = self.search(&ranges[..mid]);
                Target::Label(self.jump(libc::BPF_JGE, ranges[mid].0, upper, lower))
            }
        }
    }

    /// One system call's rules, first to last, then the default action.
    fn chain(&mut self, rules: &'a [Rule]) -> Target {
        if let Some(&target) = self.chains.get(rules) {
            return target;
        }
        let mut next = Target::Ret(self.default);
        for rule in rules.iter().rev() {
            let mut pass = Target::Ret(rule.action);
            for cmp in rule.comparisons.iter().rev() {
                pass = Target::Label(self.compare(cmp, pass, next));
            }
            next = pass;
        }
        self.chains.insert(rules, next);
        next
    }

    /// Code that goes to `pass` when the comparison holds, to `fail`
    /// otherwise. The high words decide unless they are equal.
    fn compare(&mut self, c: &Comparison, pass: Target, fail: Target) -> usize {
        use libc::{BPF_JEQ as JEQ, BPF_JGE as JGE, BPF_JGT as JGT};
        let lo_at = DATA_ARGS + 8 * c.index;
        let hi_at = lo_at + 4;
        let (hi, lo) = split(c.value);
        // Each arm writes the low word's test, then the high word's, so
        // that in the program the high word comes first.
        match c.op {
            Op::Eq | Op::Ne => {
                let (equal, differ) = if c.op == Op::Eq {
                    (pass, fail)
                } else {
                    (fail, pass)
                };
                self.jump(JEQ, lo, equal, differ);
                let low = self.load(lo_at);
                self.jump(JEQ, hi, Target::Label(low), differ);
                self.load(hi_at)
            }
            Op::Gt | Op::Ge => {
                // Above when hi > v.hi, or hi == v.hi and lo > (>=) v.lo.
                let op = if c.op == Op::Gt { JGT } else { JGE };
                self.jump(op, lo, pass, fail);
                let low = self.load(lo_at);
                let same = self.jump(JEQ, hi, Target::Label(low), fail);
                self.jump(JGT, hi, pass, Target::Label(same));
                self.load(hi_at)
            }
            Op::Lt | Op::Le => {
                // The complement of >= (>).
                let op = if c.op == Op::Lt { JGE } else { JGT };
                self.jump(op, lo, fail, pass);
                let low = self.load(lo_at);
                let same = self.jump(JEQ, hi, Target::Label(low), pass);
                self.jump(JGT, hi, fail, Target::Label(same));
                self.load(hi_at)
            }
            Op::MaskedEq => {
                let (mask_hi, mask_lo) = split(c.value);
                let (want_hi, want_lo) = split(c.value_two);
                self.jump(JEQ, want_lo, pass, fail);
                self.stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, mask_lo);
                let low = self.load(lo_at);
                self.jump(JEQ, want_hi, Target::Label(low), fail);
                self.stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, mask_hi);
                self.load(hi_at)
            }
        }
    }

    fn push(&mut self, code: u32, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(libc::sock_filter {
            // BPF opcodes fit in 16 bits.
            code: code as u16,
            jt,
            jf,
            k,
        });
        self.rev.len() - 1
    }

    fn stmt(&mut self, code: u32, k: u32) -> usize {
        self.push(code, 0, 0, k)
    }

    fn load(&mut self, offset: u32) -> usize {
        self.stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, offset)
    }

    fn ret(&mut self, value: u32) -> usize {
        let label = self.stmt(libc::BPF_RET | libc::BPF_K, value);
        self.rets.insert(value, label);
        label
    }

    /// The offset a jump written now needs to reach `label`.
    fn distance(&self, label: usize) -> usize {
        self.rev.len() - label - 1
    }

    /// A label for `target`, writing a `ret` if no copy is within reach.
    fn near(&mut self, target: Target) -> usize {
        match target {
            Target::Label(label) => label,
            Target::Ret(value) => match self.rets.get(&value) {
                Some(&label) if self.distance(label) <= self.reach => label,
                _ => self.ret(value),
            },
        }
    }

    /// Write an instruction that gets to `target` from right here: a copy
    /// of the `ret`, or a `ja` with its 32-bit offset.
    fn bridge(&mut self, target: Target) -> usize {
        match target {
            Target::Ret(value) => self.ret(value),
            Target::Label(label) => {
                let offset = u32::try_from(self.distance(label))
                    .expect("programs are far shorter than 2^32 instructions");
                self.stmt(libc::BPF_JMP | libc::BPF_JA, offset)
            }
        }
    }

    /// `target` as the instruction written last, so that the next one
    /// written falls through into it.
    fn materialize(&mut self, target: Target) -> usize {
        match target {
            Target::Label(label) if label + 1 == self.rev.len() => label,
            _ => self.bridge(target),
        }
    }

    /// A conditional jump on A against `k`, bridging targets out of reach.
    fn jump(&mut self, op: u32, k: u32, on_true: Target, on_false: Target) -> usize {
        let mut t = self.near(on_true);
        let mut f = self.near(on_false);
        // Each bridge puts one target right here and moves the other one
        // instruction further, so this ends after a few rounds.
        loop {
            if self.distance(t) > self.reach {
                t = self.bridge(on_true);
            } else if self.distance(f) > self.reach {
                f = self.bridge(on_false);
            } else {
                break;
            }
        }
        let jt = u8::try_from(self.distance(t)).expect("bridged to at most 255 above");
        let jf = u8::try_from(self.distance(f)).expect("bridged to at most 255 above");
        self.push(libc::BPF_JMP | op | libc::BPF_K, jt, jf, k)
    }
}

/// The high and low 32-bit words of `v`.
fn split(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// `("SYS_read", libc::SYS_read as u32), …`: the libc crate's number for
/// each name.
macro_rules! libc_syscalls {
    ($($sys:ident)*) => {
        &[$((stringify!($sys), libc::$sys as u32)),*]
    };
}

/// Every x86_64 system call the libc crate numbers (for glibc and musl
/// alike), in number order.
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
const X86_64_LIBC: &[(&str, u32)] = libc_syscalls![
    SYS_read SYS_write SYS_open SYS_close SYS_stat SYS_fstat SYS_lstat SYS_poll SYS_lseek
    SYS_mmap SYS_mprotect SYS_munmap SYS_brk SYS_rt_sigaction SYS_rt_sigprocmask
    SYS_rt_sigreturn SYS_ioctl SYS_pread64 SYS_pwrite64 SYS_readv SYS_writev SYS_access SYS_pipe
    SYS_select SYS_sched_yield SYS_mremap SYS_msync SYS_mincore SYS_madvise SYS_shmget SYS_shmat
    SYS_shmctl SYS_dup SYS_dup2 SYS_pause SYS_nanosleep SYS_getitimer SYS_alarm SYS_setitimer
    SYS_getpid SYS_sendfile SYS_socket SYS_connect SYS_accept SYS_sendto SYS_recvfrom
    SYS_sendmsg SYS_recvmsg SYS_shutdown SYS_bind SYS_listen SYS_getsockname SYS_getpeername
    SYS_socketpair SYS_setsockopt SYS_getsockopt SYS_clone SYS_fork SYS_vfork SYS_execve
    SYS_exit SYS_wait4 SYS_kill SYS_uname SYS_semget SYS_semop SYS_semctl SYS_shmdt SYS_msgget
    SYS_msgsnd SYS_msgrcv SYS_msgctl SYS_fcntl SYS_flock SYS_fsync SYS_fdatasync SYS_truncate
    SYS_ftruncate SYS_getdents SYS_getcwd SYS_chdir SYS_fchdir SYS_rename SYS_mkdir SYS_rmdir
    SYS_creat SYS_link SYS_unlink SYS_symlink SYS_readlink SYS_chmod SYS_fchmod SYS_chown
    SYS_fchown SYS_lchown SYS_umask SYS_gettimeofday SYS_getrlimit SYS_getrusage SYS_sysinfo
    SYS_times SYS_ptrace SYS_getuid SYS_syslog SYS_getgid SYS_setuid SYS_setgid SYS_geteuid
    SYS_getegid SYS_setpgid SYS_getppid SYS_getpgrp SYS_setsid SYS_setreuid SYS_setregid
    SYS_getgroups SYS_setgroups SYS_setresuid SYS_getresuid SYS_setresgid SYS_getresgid
    SYS_getpgid SYS_setfsuid SYS_setfsgid SYS_getsid SYS_capget SYS_capset SYS_rt_sigpending
    SYS_rt_sigtimedwait SYS_rt_sigqueueinfo SYS_rt_sigsuspend SYS_sigaltstack SYS_utime
    SYS_mknod SYS_uselib SYS_personality SYS_ustat SYS_statfs SYS_fstatfs SYS_sysfs
    SYS_getpriority SYS_setpriority SYS_sched_setparam SYS_sched_getparam SYS_sched_setscheduler
    SYS_sched_getscheduler SYS_sched_get_priority_max SYS_sched_get_priority_min
    SYS_sched_rr_get_interval SYS_mlock SYS_munlock SYS_mlockall SYS_munlockall SYS_vhangup
    SYS_modify_ldt SYS_pivot_root SYS__sysctl SYS_prctl SYS_arch_prctl SYS_adjtimex
    SYS_setrlimit SYS_chroot SYS_sync SYS_acct SYS_settimeofday SYS_mount SYS_umount2 SYS_swapon
    SYS_swapoff SYS_reboot SYS_sethostname SYS_setdomainname SYS_iopl SYS_ioperm SYS_init_module
    SYS_delete_module SYS_quotactl SYS_nfsservctl SYS_getpmsg SYS_putpmsg SYS_afs_syscall
    SYS_tuxcall SYS_security SYS_gettid SYS_readahead SYS_setxattr SYS_lsetxattr SYS_fsetxattr
    SYS_getxattr SYS_lgetxattr SYS_fgetxattr SYS_listxattr SYS_llistxattr SYS_flistxattr
    SYS_removexattr SYS_lremovexattr SYS_fremovexattr SYS_tkill SYS_time SYS_futex
    SYS_sched_setaffinity SYS_sched_getaffinity SYS_set_thread_area SYS_io_setup SYS_io_destroy
    SYS_io_getevents SYS_io_submit SYS_io_cancel SYS_get_thread_area SYS_lookup_dcookie
    SYS_epoll_create SYS_epoll_ctl_old SYS_epoll_wait_old SYS_remap_file_pages SYS_getdents64
    SYS_set_tid_address SYS_restart_syscall SYS_semtimedop SYS_fadvise64 SYS_timer_create
    SYS_timer_settime SYS_timer_gettime SYS_timer_getoverrun SYS_timer_delete SYS_clock_settime
    SYS_clock_gettime SYS_clock_getres SYS_clock_nanosleep SYS_exit_group SYS_epoll_wait
    SYS_epoll_ctl SYS_tgkill SYS_utimes SYS_vserver SYS_mbind SYS_set_mempolicy
    SYS_get_mempolicy SYS_mq_open SYS_mq_unlink SYS_mq_timedsend SYS_mq_timedreceive
    SYS_mq_notify SYS_mq_getsetattr SYS_kexec_load SYS_waitid SYS_add_key SYS_request_key
    SYS_keyctl SYS_ioprio_set SYS_ioprio_get SYS_inotify_init SYS_inotify_add_watch
    SYS_inotify_rm_watch SYS_migrate_pages SYS_openat SYS_mkdirat SYS_mknodat SYS_fchownat
    SYS_futimesat SYS_newfstatat SYS_unlinkat SYS_renameat SYS_linkat SYS_symlinkat
    SYS_readlinkat SYS_fchmodat SYS_faccessat SYS_pselect6 SYS_ppoll SYS_unshare
    SYS_set_robust_list SYS_get_robust_list SYS_splice SYS_tee SYS_sync_file_range SYS_vmsplice
    SYS_move_pages SYS_utimensat SYS_epoll_pwait SYS_signalfd SYS_timerfd_create SYS_eventfd
    SYS_fallocate SYS_timerfd_settime SYS_timerfd_gettime SYS_accept4 SYS_signalfd4 SYS_eventfd2
    SYS_epoll_create1 SYS_dup3 SYS_pipe2 SYS_inotify_init1 SYS_preadv SYS_pwritev
    SYS_rt_tgsigqueueinfo SYS_perf_event_open SYS_recvmmsg SYS_fanotify_init SYS_fanotify_mark
    SYS_prlimit64 SYS_name_to_handle_at SYS_open_by_handle_at SYS_clock_adjtime SYS_syncfs
    SYS_sendmmsg SYS_setns SYS_getcpu SYS_process_vm_readv SYS_process_vm_writev SYS_kcmp
    SYS_finit_module SYS_sched_setattr SYS_sched_getattr SYS_renameat2 SYS_seccomp SYS_getrandom
    SYS_memfd_create SYS_kexec_file_load SYS_bpf SYS_execveat SYS_userfaultfd SYS_membarrier
    SYS_mlock2 SYS_copy_file_range SYS_preadv2 SYS_pwritev2 SYS_pkey_mprotect SYS_pkey_alloc
    SYS_pkey_free SYS_statx SYS_rseq SYS_pidfd_send_signal SYS_io_uring_setup SYS_io_uring_enter
    SYS_io_uring_register SYS_open_tree SYS_move_mount SYS_fsopen SYS_fsconfig SYS_fsmount
    SYS_fspick SYS_pidfd_open SYS_clone3 SYS_close_range SYS_openat2 SYS_pidfd_getfd
    SYS_faccessat2 SYS_process_madvise SYS_epoll_pwait2 SYS_mount_setattr SYS_quotactl_fd
    SYS_landlock_create_ruleset SYS_landlock_add_rule SYS_landlock_restrict_self
    SYS_memfd_secret SYS_process_mrelease SYS_futex_waitv SYS_set_mempolicy_home_node
    SYS_fchmodat2 SYS_mseal
];

/// x86_64 calls the libc crate does not number: obsolete ones, and those
/// newer than its list (from the kernel's syscall_64.tbl, as libseccomp
/// numbers them).
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
const X86_64_EXTRA: &[(&str, u32)] = &[
    ("create_module", 174), ("get_kernel_syms", 177), ("query_module", 178), ("io_pgetevents",
    333), ("uretprobe", 335), ("uprobe", 336), ("cachestat", 451), ("map_shadow_stack", 453),
    ("futex_wake", 454), ("futex_wait", 455), ("futex_requeue", 456), ("statmount", 457),
    ("listmount", 458), ("lsm_get_self_attr", 459), ("lsm_set_self_attr", 460),
    ("lsm_list_modules", 461), ("setxattrat", 463), ("getxattrat", 464), ("listxattrat", 465),
    ("removexattrat", 466), ("open_tree_attr", 467), ("file_getattr", 468), ("file_setattr",
    469), ("listns", 470), ("rseq_slice_yield", 471),
];

/// Every aarch64 system call the libc crate numbers (for glibc and musl
/// alike), in number order.
#[cfg(target_arch = "aarch64")]
#[rustfmt::skip]
const AARCH64_LIBC: &[(&str, u32)] = libc_syscalls![
    SYS_io_setup SYS_io_destroy SYS_io_submit SYS_io_cancel SYS_io_getevents SYS_setxattr
    SYS_lsetxattr SYS_fsetxattr SYS_getxattr SYS_lgetxattr SYS_fgetxattr SYS_listxattr
    SYS_llistxattr SYS_flistxattr SYS_removexattr SYS_lremovexattr SYS_fremovexattr SYS_getcwd
    SYS_lookup_dcookie SYS_eventfd2 SYS_epoll_create1 SYS_epoll_ctl SYS_epoll_pwait SYS_dup
    SYS_dup3 SYS_fcntl SYS_inotify_init1 SYS_inotify_add_watch SYS_inotify_rm_watch SYS_ioctl
    SYS_ioprio_set SYS_ioprio_get SYS_flock SYS_mknodat SYS_mkdirat SYS_unlinkat SYS_symlinkat
    SYS_linkat SYS_umount2 SYS_mount SYS_pivot_root SYS_nfsservctl SYS_statfs SYS_fstatfs
    SYS_truncate SYS_ftruncate SYS_fallocate SYS_faccessat SYS_chdir SYS_fchdir SYS_chroot
    SYS_fchmod SYS_fchmodat SYS_fchownat SYS_fchown SYS_openat SYS_close SYS_vhangup SYS_pipe2
    SYS_quotactl SYS_getdents64 SYS_lseek SYS_read SYS_write SYS_readv SYS_writev SYS_pread64
    SYS_pwrite64 SYS_preadv SYS_pwritev SYS_sendfile SYS_pselect6 SYS_ppoll SYS_signalfd4
    SYS_vmsplice SYS_splice SYS_tee SYS_readlinkat SYS_newfstatat SYS_fstat SYS_sync SYS_fsync
    SYS_fdatasync SYS_timerfd_create SYS_timerfd_settime SYS_timerfd_gettime SYS_utimensat
    SYS_acct SYS_capget SYS_capset SYS_personality SYS_exit SYS_exit_group SYS_waitid
    SYS_set_tid_address SYS_unshare SYS_futex SYS_set_robust_list SYS_get_robust_list
    SYS_nanosleep SYS_getitimer SYS_setitimer SYS_kexec_load SYS_init_module SYS_delete_module
    SYS_timer_create SYS_timer_gettime SYS_timer_getoverrun SYS_timer_settime SYS_timer_delete
    SYS_clock_settime SYS_clock_gettime SYS_clock_getres SYS_clock_nanosleep SYS_syslog
    SYS_ptrace SYS_sched_setparam SYS_sched_setscheduler SYS_sched_getscheduler
    SYS_sched_getparam SYS_sched_setaffinity SYS_sched_getaffinity SYS_sched_yield
    SYS_sched_get_priority_max SYS_sched_get_priority_min SYS_sched_rr_get_interval
    SYS_restart_syscall SYS_kill SYS_tkill SYS_tgkill SYS_sigaltstack SYS_rt_sigsuspend
    SYS_rt_sigaction SYS_rt_sigprocmask SYS_rt_sigpending SYS_rt_sigtimedwait
    SYS_rt_sigqueueinfo SYS_rt_sigreturn SYS_setpriority SYS_getpriority SYS_reboot SYS_setregid
    SYS_setgid SYS_setreuid SYS_setuid SYS_setresuid SYS_getresuid SYS_setresgid SYS_getresgid
    SYS_setfsuid SYS_setfsgid SYS_times SYS_setpgid SYS_getpgid SYS_getsid SYS_setsid
    SYS_getgroups SYS_setgroups SYS_uname SYS_sethostname SYS_setdomainname SYS_getrusage
    SYS_umask SYS_prctl SYS_getcpu SYS_gettimeofday SYS_settimeofday SYS_adjtimex SYS_getpid
    SYS_getppid SYS_getuid SYS_geteuid SYS_getgid SYS_getegid SYS_gettid SYS_sysinfo SYS_mq_open
    SYS_mq_unlink SYS_mq_timedsend SYS_mq_timedreceive SYS_mq_notify SYS_mq_getsetattr
    SYS_msgget SYS_msgctl SYS_msgrcv SYS_msgsnd SYS_semget SYS_semctl SYS_semtimedop SYS_semop
    SYS_shmget SYS_shmctl SYS_shmat SYS_shmdt SYS_socket SYS_socketpair SYS_bind SYS_listen
    SYS_accept SYS_connect SYS_getsockname SYS_getpeername SYS_sendto SYS_recvfrom
    SYS_setsockopt SYS_getsockopt SYS_shutdown SYS_sendmsg SYS_recvmsg SYS_readahead SYS_brk
    SYS_munmap SYS_mremap SYS_add_key SYS_request_key SYS_keyctl SYS_clone SYS_execve SYS_mmap
    SYS_fadvise64 SYS_swapon SYS_swapoff SYS_mprotect SYS_msync SYS_mlock SYS_munlock
    SYS_mlockall SYS_munlockall SYS_mincore SYS_madvise SYS_remap_file_pages SYS_mbind
    SYS_get_mempolicy SYS_set_mempolicy SYS_migrate_pages SYS_move_pages SYS_rt_tgsigqueueinfo
    SYS_perf_event_open SYS_accept4 SYS_recvmmsg SYS_wait4 SYS_prlimit64 SYS_fanotify_init
    SYS_fanotify_mark SYS_name_to_handle_at SYS_open_by_handle_at SYS_clock_adjtime SYS_syncfs
    SYS_setns SYS_sendmmsg SYS_process_vm_readv SYS_process_vm_writev SYS_kcmp SYS_finit_module
    SYS_sched_setattr SYS_sched_getattr SYS_renameat2 SYS_seccomp SYS_getrandom SYS_memfd_create
    SYS_bpf SYS_execveat SYS_userfaultfd SYS_membarrier SYS_mlock2 SYS_copy_file_range
    SYS_preadv2 SYS_pwritev2 SYS_pkey_mprotect SYS_pkey_alloc SYS_pkey_free SYS_statx SYS_rseq
    SYS_pidfd_send_signal SYS_io_uring_setup SYS_io_uring_enter SYS_io_uring_register
    SYS_open_tree SYS_move_mount SYS_fsopen SYS_fsconfig SYS_fsmount SYS_fspick SYS_pidfd_open
    SYS_clone3 SYS_close_range SYS_openat2 SYS_pidfd_getfd SYS_faccessat2 SYS_process_madvise
    SYS_epoll_pwait2 SYS_mount_setattr SYS_quotactl_fd SYS_landlock_create_ruleset
    SYS_landlock_add_rule SYS_landlock_restrict_self SYS_memfd_secret SYS_process_mrelease
    SYS_futex_waitv SYS_set_mempolicy_home_node SYS_mseal
];

/// aarch64 calls the libc crate does not number for both C libraries, or
/// newer than its list (asm-generic/unistd.h, as libseccomp numbers them).
#[cfg(target_arch = "aarch64")]
#[rustfmt::skip]
const AARCH64_EXTRA: &[(&str, u32)] = &[
    ("renameat", 38), ("sync_file_range", 84), ("getrlimit", 163), ("setrlimit", 164),
    ("io_pgetevents", 292), ("kexec_file_load", 294), ("cachestat", 451), ("fchmodat2", 452),
    ("map_shadow_stack", 453), ("futex_wake", 454), ("futex_wait", 455), ("futex_requeue", 456),
    ("statmount", 457), ("listmount", 458), ("lsm_get_self_attr", 459), ("lsm_set_self_attr",
    460), ("lsm_list_modules", 461), ("setxattrat", 463), ("getxattrat", 464), ("listxattrat",
    465), ("removexattrat", 466), ("open_tree_attr", 467), ("file_getattr", 468),
    ("file_setattr", 469), ("listns", 470), ("rseq_slice_yield", 471),
];

/// The name of every Linux system call on any architecture libseccomp
/// supports (its `src/syscalls.csv`, kernel 7.1), sorted: a profile may
/// name these whatever the native architecture is.
#[rustfmt::skip]
const LINUX_SYSCALLS: &[&str] = &[
    "_llseek", "_newselect", "_sysctl", "accept", "accept4", "access", "acct", "add_key",
    "adjtimex", "afs_syscall", "alarm", "arch_prctl", "arm_fadvise64_64", "arm_sync_file_range",
    "atomic_barrier", "atomic_cmpxchg_32", "bdflush", "bind", "bpf", "break", "breakpoint",
    "brk", "cachectl", "cacheflush", "cachestat", "capget", "capset", "chdir", "chmod", "chown",
    "chown32", "chroot", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "clock_settime", "clock_settime64", "clone", "clone3", "close",
    "close_range", "connect", "copy_file_range", "creat", "create_module", "delete_module",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
    "fadvise64_64", "fallocate", "fanotify_init", "fanotify_mark", "fchdir", "fchmod",
    "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
    "fgetxattr", "file_getattr", "file_setattr", "finit_module", "flistxattr", "flock", "fork",
    "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen", "fspick", "fstat", "fstat64",
    "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftime", "ftruncate", "ftruncate64", "futex",
    "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
    "get_kernel_syms", "get_mempolicy", "get_robust_list", "get_thread_area", "get_tls",
    "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpagesize",
    "getpeername", "getpgid", "getpgrp", "getpid", "getpmsg", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid",
    "getuid32", "getxattr", "getxattrat", "gtty", "idle", "init_module", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy",
    "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit",
    "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl", "ioperm", "iopl",
    "ioprio_get", "ioprio_set", "ipc", "kcmp", "kexec_file_load", "kexec_load", "keyctl",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listns", "listxattr",
    "listxattrat", "llistxattr", "lock", "lookup_dcookie", "lremovexattr", "lseek", "lsetxattr",
    "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "mbind", "membarrier", "memfd_create", "memfd_secret", "migrate_pages",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "modify_ldt", "mount", "mount_setattr", "move_mount", "move_pages", "mprotect",
    "mpx", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
    "msgrcv", "msgsnd", "msync", "multiplexer", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "nfsservctl", "nice", "oldfstat",
    "oldlstat", "oldolduname", "oldstat", "olduname", "open", "open_by_handle_at", "open_tree",
    "open_tree_attr", "openat", "openat2", "pause", "pciconfig_iobase", "pciconfig_read",
    "pciconfig_write", "perf_event_open", "personality", "pidfd_getfd", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_madvise", "process_mrelease", "process_vm_readv", "process_vm_writev",
    "prof", "profil", "pselect6", "pselect6_time64", "ptrace", "putpmsg", "pwrite64", "pwritev",
    "pwritev2", "query_module", "quotactl", "quotactl_fd", "read", "readahead", "readdir",
    "readlink", "readlinkat", "readv", "reboot", "recv", "recvfrom", "recvmmsg",
    "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
    "renameat", "renameat2", "request_key", "restart_syscall", "riscv_flush_icache",
    "riscv_hwprobe", "rmdir", "rseq", "rseq_slice_yield", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
    "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "rtas", "s390_guarded_storage",
    "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr", "s390_sthyi",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "security", "select", "semctl", "semget",
    "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "set_mempolicy", "set_mempolicy_home_node", "set_robust_list",
    "set_thread_area", "set_tid_address", "set_tls", "setdomainname", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "sethostname",
    "setitimer", "setns", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
    "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid",
    "setsockopt", "settimeofday", "setuid", "setuid32", "setxattr", "setxattrat", "sgetmask",
    "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal",
    "signalfd", "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socket",
    "socketcall", "socketpair", "splice", "spu_create", "spu_run", "ssetmask", "stat", "stat64",
    "statfs", "statfs64", "statmount", "statx", "stime", "stty", "subpage_prot", "swapcontext",
    "swapoff", "swapon", "switch_endian", "symlink", "symlinkat", "sync", "sync_file_range",
    "sync_file_range2", "syncfs", "sys_debug_setcontext", "syscall", "sysfs", "sysinfo",
    "syslog", "sysmips", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "tuxcall", "ugetrlimit",
    "ulimit", "umask", "umount", "umount2", "uname", "unlink", "unlinkat", "unshare", "uprobe",
    "uretprobe", "uselib", "userfaultfd", "usr26", "usr32", "ustat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vhangup", "vm86", "vm86old", "vmsplice", "vserver",
    "wait4", "waitid", "waitpid", "write", "writev",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::spec::defaults::CAPABILITIES;
    use crate::runtime::spec::seccomp::default_profile;
    use crate::runtime::spec::CapSet;
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    use oci_spec::runtime::{
        LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSyscallBuilder,
    };

    use LinuxSeccompAction as A;
    use LinuxSeccompOperator as O;

    const ENOSYS: u32 = libc::ENOSYS.unsigned_abs();
    const EPERM: u32 = libc::EPERM.unsigned_abs();
    const EXDEV: u32 = libc::EXDEV.unsigned_abs();
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    #[cfg(target_arch = "x86_64")]
    const NATIVE_ARCH: u32 = AUDIT_ARCH_X86_64;
    #[cfg(target_arch = "aarch64")]
    const NATIVE_ARCH: u32 = AUDIT_ARCH_AARCH64;
    /// `AUDIT_ARCH_I386`: 32-bit x86 (and `int 0x80` from x86_64 code).
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    fn errno(e: u32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e
    }

    fn nr(name: &str) -> u32 {
        syscall_number(name).expect("a native system call")
    }

    fn arg(
        index: usize,
        op: LinuxSeccompOperator,
        value: u64,
        two: Option<u64>,
    ) -> LinuxSeccompArg {
        let b = LinuxSeccompArgBuilder::default()
            .index(index)
            .op(op)
            .value(value);
        match two {
            Some(two) => b.value_two(two),
            None => b,
        }
        .build()
        .expect("argument")
    }

    fn call(
        names: &[&str],
        action: LinuxSeccompAction,
        errno_ret: Option<u32>,
        args: Vec<LinuxSeccompArg>,
    ) -> LinuxSyscall {
        let mut c = LinuxSyscallBuilder::default()
            .names(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .action(action)
            .build()
            .expect("syscall");
        c.set_errno_ret(errno_ret);
        c.set_args((!args.is_empty()).then_some(args));
        c
    }

    fn profile(
        default: LinuxSeccompAction,
        errno_ret: Option<u32>,
        calls: Vec<LinuxSyscall>,
    ) -> LinuxSeccomp {
        let mut s = LinuxSeccompBuilder::default()
            .default_action(default)
            .syscalls(calls)
            .build()
            .expect("profile");
        s.set_default_errno_ret(errno_ret);
        s
    }

    /// A classic BPF interpreter for the instructions the compiler writes:
    /// what the kernel returns for a call, and how many instructions ran.
    fn run_counted(p: &Program, arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
        const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
        const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
        const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
        const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let insns = p.instructions();
        let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0usize);
        loop {
            let i = insns[pc];
            steps += 1;
            let k = i.k as usize;
            let cond = |c: bool| pc + 1 + usize::from(if c { i.jt } else { i.jf });
            pc = match i.code {
                LD => {
                    assert!(k % 4 == 0 && k < 64, "load at {k}");
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().expect("4 bytes"));
                    pc + 1
                }
                AND => {
                    acc &= i.k;
                    pc + 1
                }
                JA => pc + 1 + k,
                JEQ => cond(acc == i.k),
                JGT => cond(acc > i.k),
                JGE => cond(acc >= i.k),
                RET => return (i.k, steps),
                code => panic!("unexpected opcode {code:#x} at {pc}"),
            };
            assert!(pc < insns.len(), "jump out of the program");
        }
    }

    fn run(p: &Program, nr: u32, args: [u64; 6]) -> u32 {
        run_counted(p, NATIVE_ARCH, nr, args).0
    }

    fn default_caps() -> CapSet {
        (0..64)
            .filter(|&n| CAPABILITIES.iter().any(|c| CapSet::from_iter([n]).has(c)))
            .collect()
    }

    fn default_oci(caps: CapSet) -> LinuxSeccomp {
        default_profile()
            .to_oci(caps, (6, 18))
            .expect("default profile")
    }

    #[test]
    fn name_tables() {
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(syscall_number("read"), Some(0));
            assert_eq!(syscall_number("getppid"), Some(110));
            assert_eq!(syscall_number("io_pgetevents"), Some(333));
            assert_eq!(syscall_number("arch_prctl"), Some(158));
            assert_eq!(syscall_number("arm_fadvise64_64"), None);
        }
        #[cfg(target_arch = "aarch64")]
        {
            assert_eq!(syscall_number("read"), Some(63));
            assert_eq!(syscall_number("renameat"), Some(38));
            assert_eq!(syscall_number("open"), None);
        }
        assert_eq!(syscall_number("cachestat"), Some(451));
        assert_eq!(syscall_number("fchmodat2"), Some(452));
        assert_eq!(syscall_number("futex_requeue"), Some(456));
        assert_eq!(syscall_number("SYS_read"), None);

        let native = Native::current().expect("native");
        let mut names: Vec<&str> = native
            .libc
            .iter()
            .map(|(s, _)| s.strip_prefix("SYS_").expect("SYS_ prefix"))
            .chain(native.extra.iter().map(|(n, _)| *n))
            .collect();
        let mut numbers: Vec<u32> = native
            .libc
            .iter()
            .chain(native.extra)
            .map(|e| e.1)
            .collect();
        assert!(names.len() > 300);
        for name in &names {
            assert!(is_linux_syscall(name), "{name} missing from LINUX_SYSCALLS");
        }
        names.sort_unstable();
        numbers.sort_unstable();
        let count = names.len();
        names.dedup();
        numbers.dedup();
        assert_eq!(names.len(), count, "a name twice");
        assert_eq!(numbers.len(), count, "a number twice");
        assert!(numbers.iter().all(|&n| n < X32_SYSCALL_BIT));
        assert!(LINUX_SYSCALLS.windows(2).all(|w| w[0] < w[1]), "sorted");
        for other in [
            "s390_runtime_instr",
            "sync_file_range2",
            "_llseek",
            "breakpoint",
            "set_tls",
        ] {
            assert!(is_linux_syscall(other), "{other}");
        }
        assert!(!is_linux_syscall("foo"));
    }

    #[test]
    fn unknown_names_are_errors_and_other_arches_names_skipped() {
        let err = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![call(&["getpid", "foo"], A::ScmpActErrno, None, vec![])],
        ))
        .expect_err("foo is no system call");
        assert_eq!(
            err.to_string(),
            "seccomp profile names unknown system call \"foo\""
        );
        let foreign = if cfg!(target_arch = "x86_64") {
            "arm_fadvise64_64"
        } else {
            "arch_prctl"
        };
        let p = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![call(&[foreign, "getpid"], A::ScmpActErrno, None, vec![])],
        ))
        .expect("skips the other architecture's call");
        assert_eq!(run(&p, nr("getpid"), [0; 6]), errno(EPERM));
        assert_eq!(run(&p, nr("getppid"), [0; 6]), ALLOW);
    }

    #[test]
    fn notify_and_bad_values_are_refused() {
        let err = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![call(&["getpid"], A::ScmpActNotify, None, vec![])],
        ))
        .expect_err("notify");
        assert_eq!(
            err.to_string(),
            "seccomp action SCMP_ACT_NOTIFY is not supported by skiff's runtime"
        );
        assert!(matches!(
            compile(&profile(A::ScmpActNotify, None, vec![])),
            Err(SeccompCompileError::UnsupportedAction { .. })
        ));
        assert!(matches!(
            compile(&profile(A::ScmpActErrno, Some(70000), vec![])),
            Err(SeccompCompileError::ErrnoOutOfRange { errno: 70000 })
        ));
        let err = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![call(
                &["getpid"],
                A::ScmpActErrno,
                None,
                vec![arg(6, O::ScmpCmpEq, 0, None)],
            )],
        ))
        .expect_err("argument 6");
        assert_eq!(
            err.to_string(),
            "seccomp rule for \"getpid\" compares argument 6, but system calls have arguments 0 to 5"
        );
    }

    #[test]
    fn actions_and_errno_defaults() {
        let cases = [
            (A::ScmpActAllow, None, ALLOW),
            (A::ScmpActErrno, None, errno(EPERM)),
            (A::ScmpActErrno, Some(ENOSYS), errno(ENOSYS)),
            (A::ScmpActKill, None, libc::SECCOMP_RET_KILL_THREAD),
            (A::ScmpActKillThread, None, libc::SECCOMP_RET_KILL_THREAD),
            (A::ScmpActKillProcess, None, libc::SECCOMP_RET_KILL_PROCESS),
            (A::ScmpActTrap, None, libc::SECCOMP_RET_TRAP),
            (A::ScmpActTrace, None, libc::SECCOMP_RET_TRACE | EPERM),
            (A::ScmpActTrace, Some(7), libc::SECCOMP_RET_TRACE | 7),
            (A::ScmpActLog, None, libc::SECCOMP_RET_LOG),
        ];
        for (action, errno_ret, want) in cases {
            let p = compile(&profile(
                A::ScmpActErrno,
                Some(EXDEV),
                vec![call(&["getpid"], action, errno_ret, vec![])],
            ))
            .expect("compile");
            assert_eq!(run(&p, nr("getpid"), [0; 6]), want, "{action}");
            assert_eq!(run(&p, nr("getppid"), [0; 6]), errno(EXDEV), "{action}");
            let p = compile(&profile(action, errno_ret, vec![])).expect("compile");
            assert_eq!(run(&p, nr("getpid"), [0; 6]), want, "default {action}");
        }
    }

    #[test]
    fn foreign_arches_and_x32_get_the_default_action() {
        let p = compile(&profile(
            A::ScmpActErrno,
            Some(EXDEV),
            vec![call(&["getpid", "read"], A::ScmpActAllow, None, vec![])],
        ))
        .expect("compile");
        let getpid = nr("getpid");
        assert_eq!(run(&p, getpid, [0; 6]), ALLOW);
        assert_eq!(
            run_counted(&p, AUDIT_ARCH_I386, getpid, [0; 6]).0,
            errno(EXDEV)
        );
        assert_eq!(run_counted(&p, 0x4000_0028, getpid, [0; 6]).0, errno(EXDEV));
        #[cfg(target_arch = "x86_64")]
        {
            // The search would send x32 numbers to the default action too;
            // the explicit test keeps that true whatever the tables hold.
            let x32 = p.instructions()[3];
            assert_eq!(
                (x32.code, x32.k),
                (
                    (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
                    X32_SYSCALL_BIT
                )
            );
            assert_eq!(run(&p, getpid | X32_SYSCALL_BIT, [0; 6]), errno(EXDEV));
            assert_eq!(run(&p, X32_SYSCALL_BIT, [0; 6]), errno(EXDEV));
        }
        assert_eq!(run(&p, u32::MAX, [0; 6]), errno(EXDEV));
    }

    /// Every operator against values around word boundaries, checked
    /// against the same comparison on u64.
    #[test]
    fn argument_comparisons_are_64_bit() {
        let interesting = [
            0,
            1,
            0xffff_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            0x1_ffff_ffff,
            0x2_0000_0001,
            0x8000_0000_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        let ops = [
            O::ScmpCmpNe,
            O::ScmpCmpLt,
            O::ScmpCmpLe,
            O::ScmpCmpEq,
            O::ScmpCmpGe,
            O::ScmpCmpGt,
            O::ScmpCmpMaskedEq,
        ];
        let hit = errno(EPERM);
        for op in ops {
            for &value in &interesting {
                let index = (value % 6) as usize;
                let two = 0x1_0000_0001 & value;
                let p = compile(&profile(
                    A::ScmpActAllow,
                    None,
                    vec![call(
                        &["getppid"],
                        A::ScmpActErrno,
                        None,
                        vec![arg(index, op, value, Some(two))],
                    )],
                ))
                .expect("compile");
                for &a in &interesting {
                    let holds = match op {
                        O::ScmpCmpNe => a != value,
                        O::ScmpCmpLt => a < value,
                        O::ScmpCmpLe => a <= value,
                        O::ScmpCmpEq => a == value,
                        O::ScmpCmpGe => a >= value,
                        O::ScmpCmpGt => a > value,
                        O::ScmpCmpMaskedEq => a & value == two,
                    };
                    let mut args = [0x5555_5555_5555_5555; 6];
                    args[index] = a;
                    let want = if holds { hit } else { ALLOW };
                    assert_eq!(
                        run(&p, nr("getppid"), args),
                        want,
                        "arg{index} = {a:#x} {op} {value:#x} (value two {two:#x})"
                    );
                }
            }
        }
    }

    #[test]
    fn comparison_code_for_eq() {
        let p = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![call(
                &["getppid"],
                A::ScmpActErrno,
                Some(EXDEV),
                vec![arg(1, O::ScmpCmpEq, 0x1_0000_0002, None)],
            )],
        ))
        .expect("compile");
        // arg1's high word at 16 + 8 + 4, then its low word at 16 + 8.
        let code: Vec<(u16, u32)> = p.instructions().iter().map(|i| (i.code, i.k)).collect();
        let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
        let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
        let at = code
            .windows(4)
            .position(|w| w == [(ld, 28), (jeq, 1), (ld, 24), (jeq, 2)])
            .expect("high word, then low word");
        assert_eq!(
            p.instructions()[at + 1].jt,
            0,
            "equal high word falls into the low word"
        );
    }

    #[test]
    fn first_matching_rule_decides() {
        let p = compile(&profile(
            A::ScmpActErrno,
            Some(ENOSYS),
            vec![
                call(
                    &["getppid"],
                    A::ScmpActErrno,
                    Some(1),
                    vec![arg(0, O::ScmpCmpEq, 1, None)],
                ),
                call(
                    &["getppid"],
                    A::ScmpActErrno,
                    Some(2),
                    vec![arg(0, O::ScmpCmpGe, 1, None), arg(1, O::ScmpCmpEq, 5, None)],
                ),
                call(
                    &["getppid"],
                    A::ScmpActAllow,
                    None,
                    vec![arg(0, O::ScmpCmpLt, 10, None)],
                ),
                call(&["getpid", "getppid"], A::ScmpActErrno, Some(3), vec![]),
                call(&["getpid"], A::ScmpActAllow, None, vec![]),
            ],
        ))
        .expect("compile");
        let getppid = nr("getppid");
        assert_eq!(run(&p, getppid, [1, 5, 0, 0, 0, 0]), errno(1));
        assert_eq!(run(&p, getppid, [2, 5, 0, 0, 0, 0]), errno(2));
        assert_eq!(run(&p, getppid, [2, 4, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, getppid, [0, 5, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, getppid, [10, 4, 0, 0, 0, 0]), errno(3));
        // The unconditional rule for getpid comes first.
        assert_eq!(run(&p, nr("getpid"), [0; 6]), errno(3));
        assert_eq!(run(&p, nr("gettid"), [0; 6]), errno(ENOSYS));
    }

    #[test]
    fn default_profile_compiles_for_every_capability_set() {
        for caps in [CapSet::EMPTY, default_caps(), CapSet::all()] {
            let p = compile(&default_oci(caps)).expect("the default profile compiles");
            assert!(p.len() < 1000, "{} instructions", p.len());
            assert_eq!(p.flags(), 0);
        }
        let p = compile(&default_oci(default_caps())).expect("compile");
        let allowed = [
            "read",
            "write",
            "getpid",
            "execve",
            "exit_group",
            "clone3",
            "fchmodat2",
        ];
        for name in allowed {
            assert_eq!(run(&p, nr(name), [0; 6]), ALLOW, "{name}");
        }
        for name in ["kexec_load", "bpf", "userfaultfd", "open_by_handle_at"] {
            assert_eq!(run(&p, nr(name), [0; 6]), errno(EPERM), "{name}");
        }
        assert_eq!(run(&p, nr("add_key"), [0; 6]), errno(ENOSYS));
        assert_eq!(
            run(&p, nr("personality"), [0xffff_ffff, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(&p, nr("personality"), [0x1234, 0, 0, 0, 0, 0]),
            errno(ENOSYS)
        );
        // socket: AF_VSOCK refused, netlink audit EINVAL without CAP_AUDIT_WRITE.
        let socket = nr("socket");
        assert_eq!(run(&p, socket, [40, 1, 0, 0, 0, 0]), errno(EPERM));
        assert_eq!(run(&p, socket, [16, 3, 9, 0, 0, 0]), errno(22));
        assert_eq!(run(&p, socket, [16, 3, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&p, socket, [1, 1, 0, 0, 0, 0]), ALLOW);
    }

    /// Every call the filter decides without looking at arguments takes a
    /// handful of comparisons, not one per allowed call.
    #[test]
    fn lookup_is_a_binary_search() {
        let p = compile(&default_oci(default_caps())).expect("compile");
        let with_args = [nr("socket"), nr("personality")];
        let worst = (0..600)
            .filter(|n| !with_args.contains(n))
            .map(|n| run_counted(&p, NATIVE_ARCH, n, [0; 6]).1)
            .max()
            .expect("calls");
        // Prologue (4 instructions) plus about log2(ranges) jumps.
        assert!(worst <= 16, "{worst} instructions for the worst call");
    }

    /// A program longer than a conditional jump reaches, every rule in
    /// reach through bridges.
    #[test]
    fn far_jumps_are_bridged() {
        let native = Native::current().expect("native");
        let names: Vec<&str> = native
            .libc
            .iter()
            .filter_map(|(s, _)| s.strip_prefix("SYS_"))
            .take(200)
            .collect();
        let calls = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                call(
                    &[*name],
                    A::ScmpActErrno,
                    Some(i as u32 + 1),
                    vec![arg(i % 6, O::ScmpCmpEq, i as u64, None)],
                )
            })
            .collect();
        let p = compile(&profile(A::ScmpActAllow, None, calls)).expect("compile");
        assert!(p.len() > 1000, "{} instructions", p.len());
        let ja = (libc::BPF_JMP | libc::BPF_JA) as u16;
        assert!(p.instructions().iter().any(|i| i.code == ja), "no bridge");
        for (i, name) in names.iter().enumerate() {
            let mut args = [0u64; 6];
            args[i % 6] = i as u64;
            assert_eq!(run(&p, nr(name), args), errno(i as u32 + 1), "{name}");
            args[i % 6] = i as u64 + 1;
            assert_eq!(run(&p, nr(name), args), ALLOW, "{name}");
        }
    }

    /// With jumps reaching a single instruction, nearly every target needs
    /// a bridge; the program must still decide every call as before.
    #[test]
    fn short_reach_programs_decide_the_same() {
        for caps in [CapSet::EMPTY, default_caps()] {
            let s = default_oci(caps);
            let normal = compile(&s).expect("compile");
            let short = compile_with_reach(&s, 1).expect("compile");
            assert!(short.len() > normal.len());
            assert!(short.instructions().iter().all(|i| i.jt <= 1 && i.jf <= 1));
            let args = [
                [0; 6],
                [0xffff_ffff, 0, 0, 0, 0, 0],
                [8, 0, 0, 0, 0, 0],
                [40, 1, 0, 0, 0, 0],
                [16, 3, 9, 0, 0, 0],
                [16, 3, 0, 0, 0, 0],
                [1, 1, 0, 0, 0, 0],
            ];
            for arch in [NATIVE_ARCH, AUDIT_ARCH_I386] {
                for n in (0..600).chain([X32_SYSCALL_BIT | 39, u32::MAX]) {
                    for a in args {
                        assert_eq!(
                            run_counted(&short, arch, n, a).0,
                            run_counted(&normal, arch, n, a).0,
                            "call {n:#x} with {a:x?} on {arch:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn too_long_is_an_error() {
        let calls = (0..1500)
            .map(|i| {
                call(
                    &["getppid"],
                    A::ScmpActErrno,
                    None,
                    vec![arg(0, O::ScmpCmpEq, i, None)],
                )
            })
            .collect();
        let err = compile(&profile(A::ScmpActAllow, None, calls)).expect_err("too long");
        assert!(matches!(err, SeccompCompileError::TooLong { len } if len > MAX_INSTRUCTIONS));
    }

    #[test]
    fn flags_are_kept() {
        let mut s = profile(A::ScmpActAllow, None, vec![]);
        s.set_flags(Some(vec![
            LinuxSeccompFilterFlag::SeccompFilterFlagLog,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
        ]));
        let p = compile(&s).expect("compile");
        assert_eq!(
            p.flags(),
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
    }

    #[test]
    fn cache_hits_and_recompiles_corrupt_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = dir.path().join("seccomp");
        let s = default_oci(default_caps());
        let (first, outcome) = compile_cached_outcome(&s, &cache).expect("compile");
        assert_eq!(outcome, CacheOutcome::Compiled);
        let (second, outcome) = compile_cached_outcome(&s, &cache).expect("cached");
        assert_eq!(outcome, CacheOutcome::Hit);
        let same = |a: &Program, b: &Program| {
            a.flags() == b.flags()
                && a.len() == b.len()
                && a.instructions()
                    .iter()
                    .zip(b.instructions())
                    .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
        };
        assert!(same(&first, &second));

        let files: Vec<_> = std::fs::read_dir(&cache)
            .expect("cache dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
        let file = &files[0];
        let good = std::fs::read(file).expect("read");

        let mut flipped = good.clone();
        flipped[CACHE_HEADER + 5] ^= 1;
        for bad in [flipped, good[..good.len() / 2].to_vec(), Vec::new()] {
            std::fs::write(file, &bad).expect("corrupt");
            let (p, outcome) = compile_cached_outcome(&s, &cache).expect("recompile");
            assert_eq!(outcome, CacheOutcome::Compiled);
            assert!(same(&p, &first));
            assert_eq!(std::fs::read(file).expect("read"), good, "rewritten");
        }

        let other = default_oci(CapSet::all());
        let (_, outcome) = compile_cached_outcome(&other, &cache).expect("compile");
        assert_eq!(
            outcome,
            CacheOutcome::Compiled,
            "another profile, another key"
        );
        let p = compile_cached(&other, &cache).expect("cached");
        assert!(!p.is_empty());
    }

    /// Compile and cache timings for the default profile, for the record:
    /// `cargo test --lib runtime::builtin::seccomp -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints timings"]
    fn default_profile_timings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = default_oci(default_caps());
        let runs = 200u32;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            compile(&s).expect("compile");
        }
        let compile_time = start.elapsed() / runs;
        let _ = compile_cached(&s, dir.path()).expect("fill");
        let start = std::time::Instant::now();
        for _ in 0..runs {
            let (_, outcome) = compile_cached_outcome(&s, dir.path()).expect("hit");
            assert_eq!(outcome, CacheOutcome::Hit);
        }
        let cached_time = start.elapsed() / runs;
        let p = compile(&s).expect("compile");
        eprintln!(
            "default profile: {} instructions; compile {compile_time:?}, cached load {cached_time:?}",
            p.len()
        );
    }

    // Behaviour: a forked child loads the filter and makes real calls.

    /// A raw system call with integer arguments: its result or errno.
    fn sys(nr: libc::c_long, a: [u64; 6]) -> Result<i64, u32> {
        // SAFETY: the calls the tests make take integers, or pointers the
        // tests pass as null so the kernel fails with EFAULT rather than
        // touch memory; no call changes memory Rust owns.
        let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
        if r == -1 {
            Err(nix::errno::Errno::last_raw().unsigned_abs())
        } else {
            Ok(r)
        }
    }

    fn fails_with(nr: libc::c_long, a: [u64; 6], e: u32) -> bool {
        sys(nr, a) == Err(e)
    }

    fn works(nr: libc::c_long, a: [u64; 6]) -> bool {
        sys(nr, a).is_ok()
    }

    type Check = (&'static str, fn() -> bool);

    /// Fork; in the child set no_new_privs, load `program` (if any) and run
    /// `checks`. The child allocates nothing and leaves with _exit (which
    /// also proves exit_group works): code 0 when every check held, 101 or
    /// 102 when prctl or the load failed, else 1 + the failing check.
    fn child_status(program: Option<&Program>, checks: &[Check]) -> WaitStatus {
        // SAFETY: the child only makes system calls (prctl, seccomp, the
        // checks' raw calls) and leaves with _exit: it takes no lock another
        // thread of the test process may hold and allocates nothing.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let code = if nix::sys::prctl::set_no_new_privs().is_err() {
                    101
                } else if program.is_some_and(|p| p.load().is_err()) {
                    102
                } else {
                    checks
                        .iter()
                        .position(|(_, check)| !check())
                        .map_or(0, |i| i as i32 + 1)
                };
                // SAFETY: ends the child at once, running no destructor or
                // atexit handler of the parent's copy.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
        }
    }

    /// [`child_status`] with `program`, panicking with the failed check.
    fn in_child(program: &Program, checks: &[Check]) {
        match child_status(Some(program), checks) {
            WaitStatus::Exited(_, 0) => {}
            WaitStatus::Exited(_, 101) => panic!("prctl(PR_SET_NO_NEW_PRIVS) failed"),
            WaitStatus::Exited(_, 102) => panic!("loading the filter failed"),
            WaitStatus::Exited(_, n) => {
                let name = usize::try_from(n - 1)
                    .ok()
                    .and_then(|i| checks.get(i))
                    .map_or("?", |c| c.0);
                panic!("check failed in the child: {name}")
            }
            other => panic!("child ended with {other:?}"),
        }
    }

    #[test]
    fn child_allow_list_with_enosys_default() {
        let allowed = [
            "getpid",
            "write",
            "exit_group",
            "exit",
            "rt_sigreturn",
            "rt_sigprocmask",
        ];
        let p = compile(&profile(
            A::ScmpActErrno,
            Some(ENOSYS),
            vec![call(&allowed, A::ScmpActAllow, None, vec![])],
        ))
        .expect("compile");
        in_child(
            &p,
            &[
                ("getpid works", || works(libc::SYS_getpid, [0; 6])),
                ("write reaches the kernel", || {
                    fails_with(
                        libc::SYS_write,
                        [u64::MAX, 0, 0, 0, 0, 0],
                        libc::EBADF.unsigned_abs(),
                    )
                }),
                ("getppid fails with ENOSYS", || {
                    fails_with(libc::SYS_getppid, [0; 6], ENOSYS)
                }),
                ("gettid fails with ENOSYS", || {
                    fails_with(libc::SYS_gettid, [0; 6], ENOSYS)
                }),
            ],
        );
    }

    #[test]
    fn child_argument_rules() {
        let p = compile(&profile(
            A::ScmpActAllow,
            None,
            vec![
                // personality(0xffffffff) only queries the persona.
                call(
                    &["personality"],
                    A::ScmpActErrno,
                    Some(EPERM),
                    vec![arg(0, O::ScmpCmpEq, 0xffff_ffff, None)],
                ),
                call(
                    &["getppid"],
                    A::ScmpActErrno,
                    Some(EXDEV),
                    vec![arg(0, O::ScmpCmpEq, 0x1_0000_0001, None)],
                ),
                // Bit 33 set and bit 0 clear in arg 2.
                call(
                    &["getppid"],
                    A::ScmpActErrno,
                    Some(EPERM),
                    vec![arg(
                        2,
                        O::ScmpCmpMaskedEq,
                        0x2_0000_0001,
                        Some(0x2_0000_0000),
                    )],
                ),
                call(
                    &["gettid"],
                    A::ScmpActErrno,
                    Some(EPERM),
                    vec![arg(1, O::ScmpCmpGt, 0x1_0000_0000, None)],
                ),
            ],
        ))
        .expect("compile");
        in_child(
            &p,
            &[
                ("personality(0xffffffff) refused", || {
                    fails_with(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0], EPERM)
                }),
                ("getppid(0x1_0000_0001) refused", || {
                    fails_with(libc::SYS_getppid, [0x1_0000_0001, 0, 0, 0, 0, 0], EXDEV)
                }),
                ("getppid(1): high word checked", || {
                    works(libc::SYS_getppid, [1, 0, 0, 0, 0, 0])
                }),
                ("getppid(0x2_0000_0001)", || {
                    works(libc::SYS_getppid, [0x2_0000_0001, 0, 0, 0, 0, 0])
                }),
                ("getppid masked match refused", || {
                    fails_with(libc::SYS_getppid, [0, 0, 0x6_0000_0010, 0, 0, 0], EPERM)
                }),
                ("getppid masked mismatch (bit 0)", || {
                    works(libc::SYS_getppid, [0, 0, 0x6_0000_0011, 0, 0, 0])
                }),
                ("getppid masked mismatch (bit 33)", || {
                    works(libc::SYS_getppid, [0, 0, 0x0_0000_0010, 0, 0, 0])
                }),
                ("gettid(_, 0x1_0000_0001) refused", || {
                    fails_with(libc::SYS_gettid, [0, 0x1_0000_0001, 0, 0, 0, 0], EPERM)
                }),
                ("gettid(_, 0xffffffff) works", || {
                    works(libc::SYS_gettid, [0, 0xffff_ffff, 0, 0, 0, 0])
                }),
            ],
        );
    }

    #[test]
    fn child_default_profile() {
        let p = compile(&default_oci(default_caps())).expect("compile");
        in_child(
            &p,
            &[
                ("getpid", || works(libc::SYS_getpid, [0; 6])),
                ("getppid", || works(libc::SYS_getppid, [0; 6])),
                ("write reaches the kernel", || {
                    fails_with(
                        libc::SYS_write,
                        [u64::MAX, 0, 0, 0, 0, 0],
                        libc::EBADF.unsigned_abs(),
                    )
                }),
                ("socketpair + close", || {
                    let mut fds = [0 as libc::c_int; 2];
                    // SAFETY: `fds` is a live array of two ints the kernel fills.
                    let r = unsafe {
                        libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr())
                    };
                    r == 0
                        && works(libc::SYS_close, [fds[0] as u64, 0, 0, 0, 0, 0])
                        && works(libc::SYS_close, [fds[1] as u64, 0, 0, 0, 0, 0])
                }),
                ("personality query", || {
                    works(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0])
                }),
                ("other personas ENOSYS", || {
                    fails_with(libc::SYS_personality, [0x1234, 0, 0, 0, 0, 0], ENOSYS)
                }),
                // Flags the kernel rejects, should the filter let it through.
                ("kexec_load EPERM", || {
                    fails_with(
                        libc::SYS_kexec_load,
                        [0, 0, 0, u64::from(u32::MAX), 0, 0],
                        EPERM,
                    )
                }),
                ("userfaultfd EPERM", || {
                    fails_with(
                        libc::SYS_userfaultfd,
                        [u64::from(u32::MAX), 0, 0, 0, 0, 0],
                        EPERM,
                    )
                }),
                ("swapoff EPERM", || {
                    fails_with(libc::SYS_swapoff, [0; 6], EPERM)
                }),
                ("bpf EPERM without CAP_SYS_ADMIN", || {
                    fails_with(libc::SYS_bpf, [u64::from(u32::MAX), 0, 0, 0, 0, 0], EPERM)
                }),
                ("add_key unknown to the profile: ENOSYS", || {
                    fails_with(libc::SYS_add_key, [0; 6], ENOSYS)
                }),
                ("socket(AF_VSOCK) EPERM", || {
                    fails_with(libc::SYS_socket, [40, 1, 0, 0, 0, 0], EPERM)
                }),
                ("netlink audit EINVAL", || {
                    fails_with(libc::SYS_socket, [16, 3, 9, 0, 0, 0], 22)
                }),
            ],
        );
    }

    #[test]
    fn child_default_profile_without_capabilities() {
        let p = compile(&default_oci(CapSet::EMPTY)).expect("compile");
        in_child(
            &p,
            &[
                ("chroot EPERM without CAP_SYS_CHROOT", || {
                    fails_with(libc::SYS_chroot, [0; 6], EPERM)
                }),
                ("getpid", || works(libc::SYS_getpid, [0; 6])),
            ],
        );
    }

    /// x32 numbers and i386 calls (`int 0x80`) get the default action
    /// even when the native call of that number is allowed.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn child_foreign_abis_get_the_default_action() {
        /// getpid through the i386 entry point.
        fn int80_getpid() -> i64 {
            let mut eax: u32 = 20;
            // SAFETY: i386 getpid (20) takes no arguments and touches no
            // memory; r8-r11 are declared clobbered for kernels that did not
            // preserve them across `int 0x80`.
            unsafe {
                std::arch::asm!(
                    "int 0x80",
                    inout("eax") eax,
                    lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
                    options(nostack)
                );
            }
            i64::from(eax as i32)
        }
        assert_eq!(nr("getpid"), 39);
        let p = compile(&profile(
            A::ScmpActErrno,
            Some(EXDEV),
            vec![call(
                &["getpid", "exit_group", "exit"],
                A::ScmpActAllow,
                None,
                vec![],
            )],
        ))
        .expect("compile");
        in_child(
            &p,
            &[
                ("native getpid", || works(libc::SYS_getpid, [0; 6])),
                ("x32 getpid gets EXDEV", || {
                    fails_with(i64::from(X32_SYSCALL_BIT | 39), [0; 6], EXDEV)
                }),
            ],
        );
        // Without a filter, int 0x80 getpid returns the pid; a kernel
        // without IA32 emulation kills the caller instead.
        let probe: [Check; 1] = [("int 0x80 getpid", || int80_getpid() > 0)];
        if !matches!(child_status(None, &probe), WaitStatus::Exited(_, 0)) {
            eprintln!("skipping the i386 check: int 0x80 does not work on this kernel");
            return;
        }
        in_child(
            &p,
            &[("i386 getpid gets EXDEV", || {
                int80_getpid() == -i64::from(EXDEV)
            })],
        );
    }
}
