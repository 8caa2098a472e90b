//! Configuration errors that name the file, the key and what is wrong.

use std::fmt;
use std::path::PathBuf;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key, written as `[section].key` (or `[[servers]][0].name`); empty for the whole file.
    pub key: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the configuration file: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error, said once in the message (it is not a separate source).
        error: std::io::Error,
    },
    /// The file is not valid TOML or has keys of the wrong type or unknown keys.
    #[error("{path}: {problem}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The problem, naming the key and the line.
        problem: Problem,
    },
    /// Values are out of range, inconsistent or name files that do not exist.
    #[error("{}", render_invalid(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

fn render_invalid(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}: {problem}", path.display()));
    }
    out
}
