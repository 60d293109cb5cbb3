//! Cgroups of containers (v1, v2 and hybrid hosts).
//!
//! A [`Cgroup`] is one container's cgroup (the spec's `linux.cgroupsPath`)
//! in every mounted hierarchy: each v1 controller hierarchy, `name=systemd`
//! and the unified one. Limits follow runc: a controller's v1 files where a
//! v1 hierarchy has it, else its v2 files (with runc's conversions) in the
//! unified hierarchy, so a hybrid host may use both. Device rules become
//! `devices.allow`/`devices.deny` lines on v1 and a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program on v2. See the kernel's
//! Documentation/admin-guide/cgroup-v1/ and cgroup-v2.rst.
//!
//! This module finds the hierarchies and creates, joins, freezes, signals
//! and removes the cgroup; `limits` writes the resource limits and
//! `devices` the device rules.

mod devices;
mod limits;

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;

use crate::sys::cgroup::{dirs_of, mode, CgroupMode};

/// Why a cgroup operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The root, or a path that climbs out with `..`.
    #[error("invalid cgroup path {}: it must name a cgroup below the root, without \"..\"", .path.display())]
    InvalidPath { path: PathBuf },
    /// /proc/self/mountinfo lists no cgroup or cgroup2 file system.
    #[error("no cgroup hierarchy is mounted")]
    NoHierarchy,
    /// The cgroup is in no hierarchy (never created, or removed).
    #[error("cgroup {} does not exist", .path.display())]
    Missing { path: PathBuf },
    /// mkdir of one level of the cgroup.
    #[error("creating {}: {}", .dir.display(), reason(.source))]
    Create {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A write to a cgroup file (a limit, `cgroup.procs`...).
    #[error("writing {file} in {}: {}", .dir.display(), reason(.source))]
    Write {
        file: String,
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A read of a cgroup file.
    #[error("reading {file} in {}: {}", .dir.display(), reason(.source))]
    Read {
        file: String,
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// rmdir of a cgroup, busy for longer than the wait or refused.
    #[error("removing {}: {}", .dir.display(), reason(.source))]
    Remove {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A limit needs a controller that no hierarchy offers.
    #[error("the host has no {controller} controller")]
    NoController { controller: String },
    /// The v2 hierarchy has the controller, but it could not be enabled
    /// down to this cgroup (an ancestor with processes of its own, say).
    #[error("the {controller} controller is not enabled for {} (missing from its cgroup.controllers)", .dir.display())]
    NotEnabled { controller: String, dir: PathBuf },
    /// A swap limit without `memory.memsw.*` (v1) or `memory.swap.max` (v2).
    #[error("swap limit not supported: the kernel has no swap accounting")]
    NoSwapAccounting,
    /// A limit this layout (or skiff) cannot apply.
    #[error("not supported: {what}")]
    Unsupported { what: String },
    /// A value the kernel would refuse or misread.
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    /// A device rule of the spec that the device cgroup cannot express.
    #[error("invalid device rule \"{rule}\": {detail}")]
    DeviceRule { rule: String, detail: String },
    /// bpf(BPF_PROG_LOAD) of the v2 device program.
    #[error("loading the device filter for {}: {}{log}", .dir.display(), reason(.source))]
    DeviceFilterLoad {
        dir: PathBuf,
        #[source]
        source: io::Error,
        /// The verifier's last words, as " (verifier: ...)", or empty.
        log: String,
    },
    /// bpf(BPF_PROG_ATTACH) of the v2 device program to the cgroup.
    #[error("attaching the device filter to {}: {}", .dir.display(), reason(.source))]
    DeviceFilterAttach {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The cgroup did not reach the frozen (or thawed) state in time.
    #[error("the freezer of {} stays {state}", .dir.display())]
    FreezeTimeout { dir: PathBuf, state: String },
    /// kill(2) of a member, for another reason than its being gone.
    #[error("sending {signal} to process {pid}: {}", .source.desc())]
    Signal {
        pid: i32,
        signal: Signal,
        #[source]
        source: Errno,
    },
}

impl CgroupError {
    /// The errno of a failed read or write of a cgroup file.
    fn errno(&self) -> Option<Errno> {
        match self {
            CgroupError::Write { source, .. } | CgroupError::Read { source, .. } => {
                source.raw_os_error().map(Errno::from_raw)
            }
            _ => None,
        }
    }
}

/// The kernel's words for an error ("Invalid argument"), without the
/// "(os error 22)" that `io::Error` appends.
fn reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

fn unsupported(what: impl Into<String>) -> CgroupError {
    CgroupError::Unsupported { what: what.into() }
}

/// The cgroup file system of one hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// The container's cgroup in one mounted hierarchy.
#[derive(Debug, Clone)]
struct Hierarchy {
    mount: PathBuf,
    dir: PathBuf,
    version: Version,
}

/// The controllers limits are written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    Cpu,
    Cpuset,
    Memory,
    Pids,
    Io,
    Hugetlb,
    Freezer,
    Devices,
}

impl Controller {
    fn label(self) -> &'static str {
        match self {
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Memory => "memory",
            Controller::Pids => "pids",
            Controller::Io => "blkio (io)",
            Controller::Hugetlb => "hugetlb",
            Controller::Freezer => "freezer",
            Controller::Devices => "devices",
        }
    }

    /// Whether `dir`, a non-root cgroup of a v1 hierarchy, has this
    /// controller: it then has a file every such cgroup has.
    fn in_v1(self, dir: &Path) -> bool {
        let probe = match self {
            Controller::Cpu => "cpu.shares",
            Controller::Cpuset => "cpuset.cpus",
            Controller::Memory => "memory.limit_in_bytes",
            Controller::Pids => "pids.max",
            Controller::Io => "blkio.reset_stats",
            Controller::Freezer => "freezer.state",
            Controller::Devices => "devices.list",
            // Its files are named after the page sizes.
            Controller::Hugetlb => {
                return fs::read_dir(dir).is_ok_and(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with("hugetlb."))
                })
            }
        };
        dir.join(probe).exists()
    }

    /// The name in `cgroup.controllers`; `None` for what every cgroup2
    /// directory does without a controller (`cgroup.freeze`, device
    /// programs).
    fn v2_name(self) -> Option<&'static str> {
        match self {
            Controller::Cpu => Some("cpu"),
            Controller::Cpuset => Some("cpuset"),
            Controller::Memory => Some("memory"),
            Controller::Pids => Some("pids"),
            Controller::Io => Some("io"),
            Controller::Hugetlb => Some("hugetlb"),
            Controller::Freezer | Controller::Devices => None,
        }
    }
}

/// One container's cgroup: its path below the root of every hierarchy and
/// where those hierarchies are mounted.
#[derive(Debug, Clone)]
pub struct Cgroup {
    relative: PathBuf,
    hierarchies: Vec<Hierarchy>,
}

impl Cgroup {
    /// Create the cgroup in every hierarchy and apply `resources`; on
    /// failure, remove again the directories it made. `relative` is the
    /// spec's `linux.cgroupsPath` (e.g. `/skiff/<id>`), below the root of
    /// each hierarchy. On a cgroup v2 host, every controller a level offers
    /// is enabled for its children, from the root down, as runc does; in the
    /// unified hierarchy of a hybrid host, only those a limit needs.
    pub fn create(
        relative: &Path,
        resources: Option<&LinuxResources>,
    ) -> Result<Cgroup, CgroupError> {
        let Some(rel) = normalize(relative) else {
            return Err(CgroupError::InvalidPath {
                path: relative.to_path_buf(),
            });
        };
        let cg = Cgroup {
            relative: relative.to_path_buf(),
            hierarchies: hierarchies(&rel),
        };
        if cg.hierarchies.is_empty() {
            return Err(CgroupError::NoHierarchy);
        }
        let mut created = Vec::new();
        let result = cg
            .make_dirs(&rel, &mut created)
            .and_then(|()| resources.map_or(Ok(()), |r| cg.apply(r)));
        if let Err(e) = result {
            for dir in created.iter().rev() {
                let _ = fs::remove_dir(dir);
            }
            return Err(e);
        }
        Ok(cg)
    }

    /// A cgroup created earlier (to join, freeze, signal or remove). A path
    /// that `create` refuses (the root, `..`) names nothing: such a cgroup
    /// exists nowhere and has no processes.
    pub fn open(relative: &Path) -> Cgroup {
        Cgroup {
            relative: relative.to_path_buf(),
            hierarchies: normalize(relative)
                .map(|rel| hierarchies(&rel))
                .unwrap_or_default(),
        }
    }

    /// Whether the cgroup's directory exists in any hierarchy.
    pub fn exists(&self) -> bool {
        self.hierarchies.iter().any(|h| h.dir.is_dir())
    }

    /// Move process `pid` into the cgroup in every hierarchy.
    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        for h in &self.hierarchies {
            write(&h.dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// The processes in the cgroup and its descendants, from `cgroup.procs`
    /// of one hierarchy: v1 `pids`, `devices` or `memory` (whose members are
    /// the container's), else the first v1 one, else the unified one. Empty
    /// when the cgroup does not exist.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let v1 = || self.hierarchies.iter().filter(|h| h.version == Version::V1);
        let chosen = [Controller::Pids, Controller::Devices, Controller::Memory]
            .into_iter()
            .find_map(|c| v1().find(|h| c.in_v1(&h.dir)))
            .or_else(|| v1().next())
            .or_else(|| self.v2());
        let mut pids = Vec::new();
        if let Some(h) = chosen {
            collect_pids(&h.dir, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Freeze every process, and wait until the kernel says they are.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match self.target(Controller::Freezer)? {
            (dir, Version::V1) => freeze_v1(dir),
            (dir, Version::V2) => freeze_v2(dir, true),
        }
    }

    /// Let the processes run again.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match self.target(Controller::Freezer)? {
            (dir, Version::V1) => write(dir, FREEZER_STATE, "THAWED"),
            (dir, Version::V2) => freeze_v2(dir, false),
        }
    }

    /// Send `signal` to every process. SIGKILL goes through `cgroup.kill`
    /// where there is one; otherwise (and besides it, on hybrid hosts,
    /// whose v1 hierarchies may hold more) processes are signalled one by
    /// one, the cgroup frozen meanwhile for SIGKILL so that none forks
    /// away, as runc does.
    pub fn signal_all(&self, signal: Signal) -> Result<(), CgroupError> {
        if signal == Signal::SIGKILL {
            if let Some(h) = self.v2().filter(|h| h.dir.join("cgroup.kill").exists()) {
                write(&h.dir, "cgroup.kill", "1")?;
                if self.hierarchies.iter().all(|h| h.version == Version::V2) {
                    return Ok(());
                }
            }
        }
        let frozen = signal == Signal::SIGKILL && self.freeze().is_ok();
        let result = self.pids().and_then(|pids| {
            pids.into_iter().try_for_each(|pid| {
                match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
                    Ok(()) | Err(Errno::ESRCH) => Ok(()),
                    Err(source) => Err(CgroupError::Signal {
                        pid,
                        signal,
                        source,
                    }),
                }
            })
        });
        if frozen {
            let thawed = self.thaw();
            result?;
            return thawed;
        }
        result
    }

    /// Remove the cgroup (its children first) in every hierarchy, waiting
    /// up to about a second for one whose processes just died to let go
    /// (EBUSY). What is already gone is fine; the first failure is returned
    /// after trying everything else.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let mut first = None;
        for h in &self.hierarchies {
            let mut tree = Vec::new();
            collect_dirs(&h.dir, &mut tree);
            for dir in tree.iter().rev() {
                if let Err(e) = rmdir(dir) {
                    first.get_or_insert(e);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }

    /// Where `controller`'s files are: the v1 hierarchy that has it, else
    /// the unified one when it is enabled there.
    fn target(&self, controller: Controller) -> Result<(&Path, Version), CgroupError> {
        if !self.exists() {
            return Err(CgroupError::Missing {
                path: self.relative.clone(),
            });
        }
        let v1 = self
            .hierarchies
            .iter()
            .find(|h| h.version == Version::V1 && controller.in_v1(&h.dir));
        if let Some(h) = v1 {
            return Ok((&h.dir, Version::V1));
        }
        if let Some(h) = self.v2().filter(|h| h.dir.is_dir()) {
            let Some(name) = controller.v2_name() else {
                return Ok((&h.dir, Version::V2));
            };
            match v2_controller(h, name) {
                Ok(()) => return Ok((&h.dir, Version::V2)),
                Err(e @ CgroupError::NotEnabled { .. }) => return Err(e),
                Err(_) => {}
            }
        }
        Err(CgroupError::NoController {
            controller: controller.label().to_string(),
        })
    }

    fn make_dirs(&self, rel: &Path, created: &mut Vec<PathBuf>) -> Result<(), CgroupError> {
        let enable_all = mode() == CgroupMode::V2;
        for h in &self.hierarchies {
            let mut dir = h.mount.clone();
            let mut parts = rel.components().peekable();
            if h.version == Version::V2 && enable_all {
                enable_controllers(&dir);
            }
            while let Some(part) = parts.next() {
                let parent = dir.clone();
                dir.push(part);
                match fs::create_dir(&dir) {
                    Ok(()) => created.push(dir.clone()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(source) => return Err(CgroupError::Create { dir, source }),
                }
                match h.version {
                    Version::V1 => inherit_cpuset(&parent, &dir)?,
                    Version::V2 if enable_all && parts.peek().is_some() => {
                        enable_controllers(&dir);
                    }
                    Version::V2 => {}
                }
            }
        }
        Ok(())
    }
}

/// `relative` as a path below the root: `None` for the root itself or a
/// path climbing with `..`.
fn normalize(relative: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in relative.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The cgroup `rel` in every mounted hierarchy (each once, however many
/// times it is mounted).
fn hierarchies(rel: &Path) -> Vec<Hierarchy> {
    let depth = rel.components().count();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for dir in dirs_of(rel) {
        let Some(mount) = dir.ancestors().nth(depth).map(Path::to_path_buf) else {
            continue;
        };
        let Ok(dev) = fs::metadata(&mount).map(|m| m.dev()) else {
            continue;
        };
        if seen.contains(&dev) {
            continue;
        }
        seen.push(dev);
        let v2 = nix::sys::statfs::statfs(&mount)
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
        let version = if v2 { Version::V2 } else { Version::V1 };
        out.push(Hierarchy {
            mount,
            dir,
            version,
        });
    }
    out
}

/// Make controller `name` usable in `h` (cgroup v2): when the hierarchy
/// has it but the cgroup does not, enable it in every ancestor from the
/// root down (best effort, as in `enable_controllers`).
fn v2_controller(h: &Hierarchy, name: &str) -> Result<(), CgroupError> {
    let has = |dir: &Path| {
        read_words(dir, "cgroup.controllers")
            .iter()
            .any(|c| c == name)
    };
    if has(&h.dir) {
        return Ok(());
    }
    if !has(&h.mount) {
        return Err(CgroupError::NoController {
            controller: name.to_string(),
        });
    }
    if let Ok(rel) = h.dir.strip_prefix(&h.mount) {
        let mut dir = h.mount.clone();
        let mut parts = rel.components().peekable();
        loop {
            let enabled = read_words(&dir, "cgroup.subtree_control");
            if !enabled.iter().any(|c| c == name) {
                let _ = write(&dir, "cgroup.subtree_control", &format!("+{name}"));
            }
            match parts.next() {
                Some(part) if parts.peek().is_some() => dir.push(part),
                _ => break,
            }
        }
    }
    if has(&h.dir) {
        Ok(())
    } else {
        Err(CgroupError::NotEnabled {
            controller: name.to_string(),
            dir: h.dir.clone(),
        })
    }
}

/// Offer every controller `dir` has to its children, as runc does. Best
/// effort (a cgroup with processes of its own refuses): a limit that needs
/// a controller which did not get enabled says so when it is written.
fn enable_controllers(dir: &Path) {
    let enabled = read_words(dir, "cgroup.subtree_control");
    let missing: Vec<String> = read_words(dir, "cgroup.controllers")
        .into_iter()
        .filter(|c| !enabled.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if !missing.is_empty() && write(dir, "cgroup.subtree_control", &missing.join(" ")).is_err() {
        for c in &missing {
            let _ = write(dir, "cgroup.subtree_control", c);
        }
    }
}

/// A new v1 cpuset cgroup has no CPUs and no memory nodes, and attaching a
/// task to it fails (ENOSPC): give it its parent's, as runc does for every
/// level. Nothing to do outside the cpuset hierarchy.
fn inherit_cpuset(parent: &Path, dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        if !dir.join(file).exists() {
            return Ok(());
        }
        if read(dir, file)?.trim().is_empty() {
            write(dir, file, read(parent, file)?.trim())?;
        }
    }
    Ok(())
}

fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    // One write(2) per value: the kernel parses each write on its own.
    fs::OpenOptions::new()
        .write(true)
        .open(dir.join(file))
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|source| CgroupError::Write {
            file: file.to_string(),
            dir: dir.to_path_buf(),
            source,
        })
}

fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    fs::read_to_string(dir.join(file)).map_err(|source| CgroupError::Read {
        file: file.to_string(),
        dir: dir.to_path_buf(),
        source,
    })
}

/// The words of a space-separated list file; none when unreadable.
fn read_words(dir: &Path, file: &str) -> Vec<String> {
    fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

const FREEZER_STATE: &str = "freezer.state";

/// v1: FREEZING can last while processes keep arriving, so the write is
/// retried, with an occasional thaw, as runc does; given up (thawed back)
/// after 1000 tries.
fn freeze_v1(dir: &Path) -> Result<(), CgroupError> {
    let mut state = String::new();
    for i in 0..1000 {
        if i % 50 == 49 {
            let _ = write(dir, FREEZER_STATE, "THAWED");
            std::thread::sleep(Duration::from_millis(10));
        }
        write(dir, FREEZER_STATE, "FROZEN")?;
        if i % 25 == 24 {
            std::thread::sleep(Duration::from_micros(10));
        }
        state = read(dir, FREEZER_STATE)?.trim().to_string();
        match state.as_str() {
            "FROZEN" => return Ok(()),
            "FREEZING" => {}
            _ => break,
        }
    }
    let _ = write(dir, FREEZER_STATE, "THAWED");
    Err(CgroupError::FreezeTimeout {
        dir: dir.to_path_buf(),
        state,
    })
}

/// v2: write `cgroup.freeze`, then wait (up to 10 s, as runc) for
/// `cgroup.events` to agree.
fn freeze_v2(dir: &Path, frozen: bool) -> Result<(), CgroupError> {
    let want = if frozen { "1" } else { "0" };
    write(dir, "cgroup.freeze", want)?;
    let mut state = String::new();
    for _ in 0..1000 {
        let events = read(dir, "cgroup.events")?;
        let now = events.lines().find_map(|l| l.strip_prefix("frozen "));
        if now == Some(want) {
            return Ok(());
        }
        state = format!("frozen {}", now.unwrap_or("?"));
        std::thread::sleep(Duration::from_millis(10));
    }
    if frozen {
        let _ = write(dir, "cgroup.freeze", "0");
    }
    Err(CgroupError::FreezeTimeout {
        dir: dir.to_path_buf(),
        state,
    })
}

/// `dir` and every cgroup below it, parents first.
fn collect_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    out.push(dir.to_path_buf());
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_dirs(&e.path(), out);
        }
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let mut dirs = Vec::new();
    collect_dirs(dir, &mut dirs);
    for d in dirs {
        match read(&d, "cgroup.procs") {
            // Pid 0 is a process of another pid namespace: never signal it.
            Ok(text) => out.extend(
                text.lines()
                    .filter_map(|l| l.trim().parse::<i32>().ok())
                    .filter(|p| *p > 0),
            ),
            // Removed meanwhile.
            Err(e) if e.errno() == Some(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// rmdir, retried while the cgroup is busy (its last processes still
/// exiting): 10 tries, from 1 ms doubling, about a second in all (runc).
fn rmdir(dir: &Path) -> Result<(), CgroupError> {
    let mut delay = Duration::from_millis(1);
    let mut tries = 10;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries > 0 => {
                std::thread::sleep(delay);
                delay *= 2;
                tries -= 1;
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    dir: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
