//! Reading secrets from the files that `*_file` keys name.
//!
//! A secret is read only from a regular file (a symlink to one is followed), never more than a
//! fixed number of bytes, so a key path that names a directory, a named pipe or a device such as
//! `/dev/zero` is refused at once instead of blocking or reading until memory runs out.

use std::io::Read;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// The largest secret file accepted.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Why a secret file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Nothing is at the path.
    #[error("file {0} does not exist; create it with the secret as its only content")]
    Missing(PathBuf),
    /// Something other than a regular file is at the path.
    #[error(
        "{path} is {kind}, not a regular file; point the setting at the file that holds the secret"
    )]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What is there instead ("a directory", "a named pipe (FIFO)", ...).
        kind: &'static str,
    },
    /// The file could not be opened or read.
    #[error(
        "cannot read secret file {path}: {reason}; make it readable by the user mcp-gateway runs as"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The file is empty, too large or not text.
    #[error("secret file {path} {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: &'static str,
    },
}

/// What a file type is, in words, when it is not a regular file.
fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// Reads at most `max` bytes of the regular file at `path` (following symlinks).
///
/// # Errors
/// Fails when nothing is at `path`, it is not a regular file, it cannot be read, or it is larger
/// than `max` bytes.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, SecretError> {
    let read_err = |e: std::io::Error| SecretError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let not_regular = |kind| SecretError::NotRegular {
        path: path.to_path_buf(),
        kind,
    };
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SecretError::Missing(path.to_path_buf()));
        }
        Err(e) => return Err(read_err(e)),
    };
    if !meta.is_file() {
        return Err(not_regular(kind_of(meta.file_type())));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Should the path be swapped for a named pipe after the check, opening it must not
        // wait for a writer.
        use std::os::unix::fs::OpenOptionsExt;
        options
            .custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or_default());
    }
    let file = options.open(path).map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(not_regular(kind_of(meta.file_type())));
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(SecretError::Invalid {
            path: path.to_path_buf(),
            problem: "is larger than this kind of secret can be",
        });
    }
    Ok(bytes)
}

/// Reads a secret from `path`, ignoring surrounding whitespace and a trailing newline.
///
/// # Errors
/// Fails when nothing is at `path`, it is not a regular file, it cannot be read, is larger than
/// 64 KiB, is not UTF-8, or holds only whitespace.
pub fn read_secret(path: &Path) -> Result<SecretString, SecretError> {
    let bytes = read_bounded(path, MAX_SECRET_BYTES).map_err(|e| match e {
        SecretError::Invalid { path, .. } => SecretError::Invalid {
            path,
            problem: "is larger than 64 KiB",
        },
        other => other,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| SecretError::Invalid {
        path: path.to_path_buf(),
        problem: "is not UTF-8 text",
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Invalid {
            path: path.to_path_buf(),
            problem: "is empty; write the secret into it",
        });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_secret_is_read_trimmed_from_a_regular_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  abc\n").unwrap();
        assert_eq!(read_secret(&file).unwrap().expose_secret(), "abc");

        let err = |p: &Path| read_secret(p).unwrap_err().to_string();
        let missing = err(&dir.path().join("absent"));
        assert!(missing.contains("does not exist; create it"), "{missing}");
        let folder = err(dir.path());
        assert!(
            folder.contains("is a directory, not a regular file"),
            "{folder}"
        );
        std::fs::write(&file, "\n \n").unwrap();
        assert!(err(&file).ends_with("is empty; write the secret into it"));
        std::fs::write(&file, vec![b'x'; 64 * 1024 + 1]).unwrap();
        assert!(err(&file).ends_with("is larger than 64 KiB"));
        std::fs::write(&file, [0xff, 0xfe]).unwrap();
        assert!(err(&file).ends_with("is not UTF-8 text"));
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_endless_devices_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let text = read_secret(&fifo).unwrap_err().to_string();
        assert!(
            text.contains("is a named pipe (FIFO), not a regular file"),
            "{text}"
        );
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let text = read_bounded(&link, 32).unwrap_err().to_string();
        assert!(text.contains("is a device, not a regular file"), "{text}");
    }
}
