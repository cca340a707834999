//! The config file on disk: atomic writes (the admin API's changes) and the removal of the
//! temporary files a killed write left (at the reloader's start). Used by [`crate::admin`] and
//! [`crate::reload`]; uses neither.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`.
///
/// # Errors
/// Any I/O error; `path` is then unchanged.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replacing(path, bytes, None).map(|_| ())
}

/// As [`write_atomically`]; with `expected`, only if `path` still holds exactly those bytes just
/// before the rename: `false` (and `path` unchanged) when it does not.
pub(crate) fn write_replacing(path: &Path, bytes: &[u8], expected: Option<&[u8]>) -> std::io::Result<bool> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // unique within the process too (a test may write while a gateway in it does)
    let tmp = dir.join(format!(".{name}{TEMP_INFIX}{}-{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Some(expected) = expected
            && std::fs::read(path)? != expected
        {
            return Ok(false);
        }
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(true)
    })();
    if !matches!(result, Ok(true)) {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What follows `.NAME` in the name of a temporary file of NAME (then the process id and a count).
const TEMP_INFIX: &str = ".tmp-";

/// How old a temporary file must be to be taken for one a killed write left (a write takes
/// milliseconds).
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60);

/// Removes the temporary files of `path` (`.NAME.tmp-*` beside it) older than [`STALE_TEMP_AGE`]:
/// left by a write that was killed before its rename. Errors are ignored.
pub fn remove_stale_temp_files(path: &Path) {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{name}{TEMP_INFIX}");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified());
        let age = modified.ok().and_then(|m| SystemTime::now().duration_since(m).ok());
        if age.is_some_and(|a| a >= STALE_TEMP_AGE) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_leaves_a_file_changed_since_it_was_read() {
        let dir = std::env::temp_dir().join(format!("apig-admin-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gw.json");
        std::fs::write(&path, "edited by hand").unwrap();
        assert!(!write_replacing(&path, b"from the admin API", Some(b"as read")).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "edited by hand");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
        assert!(write_replacing(&path, b"from the admin API", Some(b"edited by hand")).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "from the admin API");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
