//! Host files a definition's `[[files]] source` names: regular files only, read up to a size cap,
//! confined to the definition's directory unless the user allows more. (Keyrings are read by
//! `pare_deb::Keyring::load`, which refuses the same non-files.)

use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

/// Largest `[[files]] source` read into memory.
pub const MAX_SOURCE: u64 = 1 << 30;

/// Why a host file was not read.
#[derive(Debug)]
pub(crate) enum Refusal {
    Io(std::io::Error),
    /// A directory, device, FIFO or socket.
    NotRegular(&'static str),
    TooLarge(u64),
    /// It resolves (symlinks followed) to this path, outside the directory.
    Outside(PathBuf),
}

impl Refusal {
    /// The reason, for a message about `shown` (the path as the definition gives it).
    pub(crate) fn reason(&self, shown: &Path) -> String {
        let shown = shown.display();
        match self {
            Refusal::Io(e) => format!("cannot read `{shown}`: {e}"),
            Refusal::NotRegular(kind) => format!("`{shown}` is a {kind}, not a regular file"),
            Refusal::TooLarge(max) => format!("`{shown}` is larger than {} MiB", max >> 20),
            Refusal::Outside(resolved) => format!("`{shown}` resolves to `{}`", resolved.display()),
        }
    }
}

fn kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_file() => None,
        _ if t.is_dir() => Some("directory"),
        _ if t.is_char_device() || t.is_block_device() => Some("device"),
        _ if t.is_fifo() => Some("FIFO"),
        _ if t.is_socket() => Some("socket"),
        _ => Some("special file"),
    }
}

/// Reads `path` (relative to `dir`), which must be a regular file of at most `max` bytes. With
/// `confine`, the path must resolve inside `dir` (symlinks followed), and it is opened through a
/// handle on `dir` that cannot leave it.
pub(crate) fn read(dir: &Path, path: &Path, max: u64, confine: bool) -> Result<Vec<u8>, Refusal> {
    // Non-blocking: opening a FIFO must not wait for a writer. Regular files ignore the flag.
    let flags = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    let file = if confine {
        let root = dir.canonicalize().map_err(Refusal::Io)?;
        let resolved = dir.join(path).canonicalize().map_err(Refusal::Io)?;
        let Ok(inside) = resolved.strip_prefix(&root) else { return Err(Refusal::Outside(resolved)) };
        let handle = Dir::open_ambient_dir(&root, ambient_authority()).map_err(Refusal::Io)?;
        // cap-std refuses it should a symlink have changed since to lead outside.
        handle.open_with(inside, OpenOptions::new().read(true).custom_flags(flags)).map_err(Refusal::Io)?.into_std()
    } else {
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new().read(true).custom_flags(flags).open(dir.join(path)).map_err(Refusal::Io)?
    };
    let meta = file.metadata().map_err(Refusal::Io)?;
    if let Some(kind) = kind(&meta) {
        return Err(Refusal::NotRegular(kind));
    }
    if meta.len() > max {
        return Err(Refusal::TooLarge(max));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow while it is read: never past the cap.
    file.take(max + 1).read_to_end(&mut bytes).map_err(Refusal::Io)?;
    if bytes.len() as u64 > max {
        return Err(Refusal::TooLarge(max));
    }
    Ok(bytes)
}
