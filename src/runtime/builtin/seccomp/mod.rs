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

mod tables;
use tables::*;

#[cfg(test)]
mod behaviour_tests;
#[cfg(test)]
mod tests;
