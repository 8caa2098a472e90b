//! Sealing secrets at rest with XChaCha20-Poly1305 under a per-component key.
//!
//! A sealed value is `version (1 byte) || nonce (24 bytes) || ciphertext+tag`. The caller passes
//! the row's identity (for example `oauth_tokens|telegram:42|notion`) as associated data, so a
//! ciphertext copied into another row fails to open. The key is 32 bytes read from a file written
//! as 64 hex characters (raw 32 bytes are accepted too); only a regular file is read, and never
//! more than [`MAX_KEY_FILE_BYTES`]. [`key_exposure`] tells whether users other than the owner may
//! read the file; the serving subcommands refuse a key more users may read than `[store]` accepts
//! ([`check_key_exposure`], [`KeyReaders`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::config::secret::{SecretError, read_bounded};

/// The format version written in the first byte of every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// The most bytes read from a key file: 64 hex characters with room for whitespace around them.
pub const MAX_KEY_FILE_BYTES: u64 = 256;

/// Why a key could not be loaded or a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file does not exist and may not be created by this subcommand.
    #[error(
        "seal key file {0} does not exist; create it with `head -c 32 /dev/urandom | xxd -p -c 64 > {0}` (chmod 600), or run `mcp-gateway chat` once to generate it"
    )]
    MissingKey(PathBuf),
    /// The key file could not be read or written.
    #[error("seal key file {path}: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The key file holds something other than a 32-byte key.
    #[error("seal key file {0} must hold 32 bytes written as 64 hex characters")]
    BadKey(PathBuf),
    /// Something other than a readable regular file is at the key's path.
    #[error("seal key: {0}")]
    Unreadable(SecretError),
    /// Every user of the machine may read the key file.
    #[error(
        "seal key file {0} may be read by every user of this machine; run `chmod 600 {0}` (or set [store].allow_readable_seal_key = true to accept it)"
    )]
    WorldReadable(PathBuf),
    /// Members of the key file's group may read it, and that group is not declared this service's.
    #[error(
        "seal key file {0} may be read by its group; run `chmod 600 {0}` (or, when that group is this service's alone, set [store].seal_key_group_readable = true)"
    )]
    GroupReadable(PathBuf),
    /// The value was sealed under another key, for another row, or was altered.
    #[error("a sealed value could not be opened (wrong key, moved between rows, or altered)")]
    Open,
}

/// How many sealed values opened under a key and how many did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealTally {
    /// Values that opened.
    pub opened: u64,
    /// Values that did not.
    pub failed: u64,
}

impl SealTally {
    /// Counts one value.
    pub fn record(&mut self, opened: bool) {
        if opened {
            self.opened += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Seals and opens values under one key. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer for a raw 32-byte key.
    #[must_use]
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Loads the key from `path`; when the file is missing and `create` is set, writes a new
    /// random key there (mode 0600, folder created) first.
    ///
    /// # Errors
    /// Fails when the file is missing (and `create` is not set), unreadable or not a 32-byte key.
    pub fn load(path: &Path, create: bool) -> Result<Self, SealError> {
        let key_err = |e: std::io::Error| SealError::KeyFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        match read_bounded(path, MAX_KEY_FILE_BYTES) {
            Ok(bytes) => Ok(Self::from_key(
                &parse_key(&bytes).ok_or_else(|| SealError::BadKey(path.to_path_buf()))?,
            )),
            Err(SecretError::Missing(_)) if create => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_key_file(path, &key).map_err(key_err)?;
                Ok(Self::from_key(&key))
            }
            Err(SecretError::Missing(_)) => Err(SealError::MissingKey(path.to_path_buf())),
            Err(SecretError::Invalid { .. }) => Err(SealError::BadKey(path.to_path_buf())),
            Err(e) => Err(SealError::Unreadable(e)),
        }
    }

    /// Seals `plaintext` for the row identified by `aad`.
    #[must_use]
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens a value sealed for the row identified by `aad`.
    ///
    /// # Errors
    /// Fails when the value was sealed under another key or row identity, or was altered.
    pub fn open(&self, aad: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(SealError::Open);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)
    }

    /// Seals a UTF-8 string.
    #[must_use]
    pub fn seal_str(&self, aad: &str, plaintext: &str) -> Vec<u8> {
        self.seal(aad, plaintext.as_bytes())
    }

    /// Opens a value sealed with [`Sealer::seal_str`].
    ///
    /// # Errors
    /// Fails as [`Sealer::open`] does, or when the plaintext is not UTF-8.
    pub fn open_str(&self, aad: &str, sealed: &[u8]) -> Result<String, SealError> {
        String::from_utf8(self.open(aad, sealed)?).map_err(|_| SealError::Open)
    }
}

/// Who besides the key file's owner may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExposure {
    /// Only the owner.
    Private,
    /// The file's group too (as a Kubernetes Secret volume with mode 0440 leaves it for the pod's
    /// `fsGroup`).
    Group,
    /// Every user of the machine.
    World,
}

/// Who besides its owner may read the key file at `path` (following symlinks); `None` when it
/// cannot be told (no such file, or not a Unix system).
#[must_use]
pub fn key_exposure(path: &Path) -> Option<KeyExposure> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        Some(if mode & 0o004 != 0 {
            KeyExposure::World
        } else if mode & 0o040 != 0 {
            KeyExposure::Group
        } else {
            KeyExposure::Private
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Which readers besides its owner the serving subcommands accept for a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyReaders {
    /// The owner alone (mode 0600 or stricter): the default.
    Owner,
    /// The owner and the file's group, declared this service's own (`[store].seal_key_group_readable`),
    /// as in a Kubernetes secret volume mounted 0440 for the pod's group.
    Group,
    /// Anyone (`[store].allow_readable_seal_key`).
    Anyone,
}

impl KeyReaders {
    /// The readers `[store]` accepts: anyone with `allow_readable_seal_key`, the group with
    /// `seal_key_group_readable`, else the owner alone.
    #[must_use]
    pub fn of(store: &crate::config::StoreConfig) -> Self {
        if store.allow_readable_seal_key {
            Self::Anyone
        } else if store.seal_key_group_readable {
            Self::Group
        } else {
            Self::Owner
        }
    }
}

impl KeyExposure {
    /// Whether a key file with this exposure is accepted when `readers` may read it.
    #[must_use]
    pub fn accepted_by(self, readers: KeyReaders) -> bool {
        match self {
            Self::Private => true,
            Self::Group => readers >= KeyReaders::Group,
            Self::World => readers >= KeyReaders::Anyone,
        }
    }
}

/// What the serving subcommands do about the key file's permissions: a key more users may read
/// than `readers` allows is refused; an accepted one that others may read is logged once.
///
/// # Errors
/// [`SealError::WorldReadable`] or [`SealError::GroupReadable`] for a key more users may read than
/// `readers` allows.
pub fn check_key_exposure(path: &Path, readers: KeyReaders) -> Result<(), SealError> {
    let Some(exposure) = key_exposure(path) else {
        return Ok(());
    };
    match exposure {
        KeyExposure::Private => Ok(()),
        KeyExposure::World if !exposure.accepted_by(readers) => {
            Err(SealError::WorldReadable(path.to_path_buf()))
        }
        KeyExposure::Group if !exposure.accepted_by(readers) => {
            Err(SealError::GroupReadable(path.to_path_buf()))
        }
        KeyExposure::World => {
            tracing::warn!(path = %path.display(), "the seal key file may be read by every user (allowed by [store].allow_readable_seal_key)");
            Ok(())
        }
        KeyExposure::Group => {
            tracing::info!(path = %path.display(), "the seal key file may be read by its group, declared this service's own by [store].seal_key_group_readable");
            Ok(())
        }
    }
}

/// Reads a key written as 64 hex characters (whitespace around it ignored) or as 32 raw bytes.
fn parse_key(bytes: &[u8]) -> Option<[u8; 32]> {
    let trimmed = std::str::from_utf8(bytes).ok().map(str::trim);
    if let Some(text) = trimmed.filter(|t| t.len() == 64)
        && let Ok(decoded) = hex::decode(text)
    {
        return decoded.try_into().ok();
    }
    bytes.try_into().ok()
}

fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // A folder made here for the key is the owner's alone; an existing one is left as it is.
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            folder.mode(0o700);
        }
        folder.create(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{}", hex::encode(key))?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_row_binding() {
        let s = Sealer::from_key(&[7; 32]);
        let sealed = s.seal_str("row|a", "secret-token");
        assert!(!sealed.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(s.open_str("row|a", &sealed).unwrap(), "secret-token");
        assert!(matches!(s.open_str("row|b", &sealed), Err(SealError::Open)));
        assert!(
            Sealer::from_key(&[8; 32])
                .open_str("row|a", &sealed)
                .is_err()
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(s.open_str("row|a", &tampered).is_err());
        assert!(s.open("row|a", &[]).is_err());
    }

    #[test]
    fn key_files_hex_raw_created_and_bad() {
        let dir = tempfile::tempdir().unwrap();
        let hex_path = dir.path().join("hex.key");
        std::fs::write(&hex_path, format!("  {}\n", "ab".repeat(32))).unwrap();
        Sealer::load(&hex_path, false).unwrap();
        let raw_path = dir.path().join("raw.key");
        std::fs::write(&raw_path, [3u8; 32]).unwrap();
        Sealer::load(&raw_path, false).unwrap();
        let bad = dir.path().join("bad.key");
        std::fs::write(&bad, "short").unwrap();
        assert!(matches!(
            Sealer::load(&bad, false),
            Err(SealError::BadKey(_))
        ));
        let missing = dir.path().join("sub/new.key");
        let err = Sealer::load(&missing, false).unwrap_err().to_string();
        assert!(err.contains("new.key"), "{err}");
        let created = Sealer::load(&missing, true).unwrap();
        let again = Sealer::load(&missing, false).unwrap();
        assert_eq!(
            again.open_str("x", &created.seal_str("x", "v")).unwrap(),
            "v"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&missing).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn endless_or_irregular_key_files_are_refused_and_readable_ones_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.key");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = Sealer::load(&zero, false).unwrap_err().to_string();
        assert!(err.contains("is a device, not a regular file"), "{err}");
        let err = Sealer::load(dir.path(), true).unwrap_err().to_string();
        assert!(err.contains("is a directory, not a regular file"), "{err}");
        let long = dir.path().join("long.key");
        std::fs::write(&long, "ab".repeat(1000)).unwrap();
        assert!(matches!(
            Sealer::load(&long, false),
            Err(SealError::BadKey(_))
        ));

        let key = dir.path().join("seal.key");
        std::fs::write(&key, "ab".repeat(32)).unwrap();
        let chmod = |mode| {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        chmod(0o600);
        assert_eq!(key_exposure(&key), Some(KeyExposure::Private));
        assert!(check_key_exposure(&key, KeyReaders::Owner).is_ok());
        chmod(0o640);
        assert_eq!(key_exposure(&key), Some(KeyExposure::Group));
        let err = check_key_exposure(&key, KeyReaders::Owner)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chmod 600") && err.contains("seal_key_group_readable"),
            "{err}"
        );
        assert!(check_key_exposure(&key, KeyReaders::Group).is_ok());
        chmod(0o440);
        assert!(check_key_exposure(&key, KeyReaders::Owner).is_err());
        assert!(check_key_exposure(&key, KeyReaders::Group).is_ok());
        chmod(0o644);
        assert_eq!(key_exposure(&key), Some(KeyExposure::World));
        let err = check_key_exposure(&key, KeyReaders::Group)
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(check_key_exposure(&key, KeyReaders::Owner).is_err());
        assert!(check_key_exposure(&key, KeyReaders::Anyone).is_ok());
    }
}
