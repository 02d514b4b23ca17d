//! The tool's errors: each one line for a person, a `--json` object for a program, and an
//! exit code of its own.

use std::fmt;

/// Everything a command can fail with.
#[derive(Debug)]
pub enum Error {
    /// The store refused: damaged, locked by another process, a limit reached.
    Store(kausaldb::Error),
    /// A file or directory could not be read or created.
    Io { path: String, error: std::io::Error },
    /// No `.kausal` store here or above (and no `--store`).
    NoStore { from: String },
    /// No symbol matches what was asked for.
    NotFound { symbol: String },
    /// Several symbols match; the candidates are listed.
    Ambiguous { symbol: String, candidates: Vec<String> },
}

impl Error {
    /// A failed write of the answer to stdout.
    pub fn stdout(error: std::io::Error) -> Error {
        Error::Io { path: "stdout".into(), error }
    }

    /// Whether the answer's reader closed the pipe (`kausal ... | head`): not a failure. Only
    /// a pipe or a socket says so; a file never does.
    pub fn is_closed_pipe(&self) -> bool {
        matches!(self, Error::Io { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// The process exit code: 0 is success, 2 is clap's for bad arguments, 1 is unused.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } => 3,
            Error::Ambiguous { .. } => 4,
            Error::NoStore { .. } => 5,
            Error::Io { .. } => 6,
            Error::Store(kausaldb::Error::Locked { .. }) => 7,
            Error::Store(_) => 8,
        }
    }

    /// The error as a JSON object (for `--json`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value =
            serde_json::json!({ "error": self.to_string(), "exit_code": self.exit_code() });
        if let Error::Ambiguous { candidates, .. } = self {
            value["candidates"] = candidates.clone().into();
        }
        value
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Store(kausaldb::Error::Locked { pid }) => {
                write!(f, "the store is in use by process {pid}")
            }
            Error::Store(error) => write!(f, "store: {error}"),
            Error::Io { path, error } => write!(f, "{path}: {error}"),
            Error::NoStore { from } => write!(
                f,
                "no .kausal store in {from} or above it: run `kausal index` at the root of the tree"
            ),
            Error::NotFound { symbol } => write!(f, "no symbol matches {symbol:?}"),
            Error::Ambiguous { symbol, candidates } => write!(
                f,
                "{symbol:?} names {} symbols; give a qualified name, path:line or id: {}",
                candidates.len(),
                candidates.join(", ")
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<kausaldb::Error> for Error {
    fn from(error: kausaldb::Error) -> Self {
        Error::Store(error)
    }
}
