//! Atomic file writes: content goes to a temporary file in the same directory and is renamed
//! into place, so a crash leaves either the old file or the new one, never half of one.

use std::io::{Read, Write};
use std::path::Path;

use crate::{Error, Result};

/// A temporary file in `dir` with the mode a plain `File::create` would give (0666 less the
/// umask), not tempfile's 0600: what pare writes for the user is renamed into place as it is.
pub(crate) fn temp_file_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(".pare-tmp-")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(Error::io(dir))
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_from(path, &mut &bytes[..]).map(|_| ())
}

/// Streams `content` to `path` atomically and returns the number of bytes written.
/// If reading fails (a verifying reader reporting a bad digest, say) nothing is left behind.
pub fn write_atomic_from(path: &Path, content: &mut dyn Read) -> Result<u64> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut tmp = temp_file_in(dir)?;
    let written = std::io::copy(content, tmp.as_file_mut())
        .map_err(|e| Error::from_io(format!("writing `{}`", path.display()), e))?;
    tmp.as_file_mut().flush().map_err(Error::io(path))?;
    tmp.as_file().sync_data().map_err(Error::io(path))?;
    tmp.persist(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e.error })?;
    Ok(written)
}
