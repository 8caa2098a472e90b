//! Reading secrets from the files that `*_file` keys name.

use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// The largest secret file accepted.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Why a secret file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read secret file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
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

/// Reads a secret from `path`, ignoring surrounding whitespace and a trailing newline.
///
/// # Errors
/// Fails when the file cannot be read, is larger than 64 KiB, is not UTF-8, or holds only
/// whitespace.
pub fn read_secret(path: &Path) -> Result<SecretString, SecretError> {
    let read = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_SECRET_BYTES {
        return Err(SecretError::Invalid {
            path: path.to_path_buf(),
            problem: "is larger than 64 KiB",
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let text = String::from_utf8(bytes).map_err(|_| SecretError::Invalid {
        path: path.to_path_buf(),
        problem: "is not UTF-8 text",
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Invalid {
            path: path.to_path_buf(),
            problem: "is empty",
        });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}
