//! What an unpack may do (whiteout format, ownership, device nodes) and
//! what it reports having done.

use std::ffi::OsStr;

use super::IdMapping;
use crate::sys;

/// Which xattr namespace overlayfs markers go in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayXattr {
    /// `trusted.overlay.*`: overlayfs mounted by real root.
    Trusted,
    /// `user.overlay.*`: overlayfs mounted with `userxattr` in a user
    /// namespace (kernel >= 5.11).
    User,
}

impl OverlayXattr {
    pub(super) fn opaque(self) -> &'static OsStr {
        OsStr::new(match self {
            OverlayXattr::Trusted => "trusted.overlay.opaque",
            OverlayXattr::User => "user.overlay.opaque",
        })
    }

    pub(super) fn whiteout(self) -> &'static OsStr {
        OsStr::new(match self {
            OverlayXattr::Trusted => "trusted.overlay.whiteout",
            OverlayXattr::User => "user.overlay.whiteout",
        })
    }
}

/// What to do with OCI whiteout entries (`.wh.NAME`, `.wh..wh..opq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// The layer becomes an overlayfs lower directory: a whiteout becomes a
    /// 0:0 character device NAME (or, where mknod is refused, an empty file
    /// with `<ns>.overlay.whiteout` in a directory marked
    /// `<ns>.overlay.opaque=x`, kernel >= 6.7), an opaque marker sets
    /// `<ns>.overlay.opaque=y` on its directory.
    Overlay { xattr: OverlayXattr },
    /// The destination already holds a full copy of the parent layer: a
    /// whiteout deletes NAME (recursively), an opaque marker deletes what
    /// the directory held that this layer did not put there.
    Apply,
    /// Whiteout names are ordinary names: the archive is plain files being
    /// copied (`skiff cp`), not a layer.
    Keep,
}

/// How to unpack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackOptions {
    pub whiteouts: WhiteoutMode,
    /// Give entries the uid/gid of the archive (lchown), through
    /// `id_mapping` when set. Off, everything belongs to the unpacking user
    /// (an unprivileged user outside a user namespace cannot chown).
    pub preserve_ownership: bool,
    /// Container id -> host id for `preserve_ownership`; an id outside the
    /// mapping fails the unpack, as with podman. Directories the archive
    /// does not list belong to the host ids of container root.
    pub id_mapping: Option<IdMapping>,
    /// Create character and block devices. Only real root may (not root of
    /// a user namespace); otherwise they are skipped with a debug message,
    /// as podman does rootless. FIFOs are always created.
    pub can_mknod: bool,
    /// With `preserve_ownership`: every entry gets these host ids instead
    /// of the archive's (files copied into a container belong to its user).
    pub chown: Option<(u32, u32)>,
}

impl Default for UnpackOptions {
    /// A plain file tree owned by the caller: whiteouts applied, no chown,
    /// no device nodes.
    fn default() -> Self {
        UnpackOptions {
            whiteouts: WhiteoutMode::Apply,
            preserve_ownership: false,
            id_mapping: None,
            can_mknod: false,
            chown: None,
        }
    }
}

impl UnpackOptions {
    /// What this process is allowed to do: root keeps ownership and creates
    /// device nodes; root of a user namespace keeps ownership (the ids are
    /// the namespace's) but skips device nodes; an unprivileged user does
    /// neither.
    pub fn for_current_process(whiteouts: WhiteoutMode) -> Self {
        let root = sys::euid() == 0;
        UnpackOptions {
            whiteouts,
            preserve_ownership: root,
            id_mapping: None,
            can_mknod: root && !sys::is_in_user_namespace(),
            chown: None,
        }
    }
}

/// What an unpack did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    /// Tar entries handled (extension headers not counted).
    pub entries: u64,
    /// Bytes of regular file content written.
    pub bytes: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Whiteouts and opaque markers.
    pub whiteouts: u64,
    /// Device nodes not created (see [`UnpackOptions::can_mknod`]).
    pub skipped_devices: u64,
    /// Extended attributes that could not be set and were let go.
    pub xattr_warnings: u64,
}
