//! Configuration problems, each naming where it is: `file:line: key: problem`.
//!
//! Loading collects every problem it can find before giving up, so an operator fixes a config
//! in one round instead of one error per run.

use std::fmt;
use std::path::PathBuf;

/// Where a value came from: a line of a file, or an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file, with the 1-based line when it is known.
    File {
        /// The file.
        file: PathBuf,
        /// 1-based line, when the format allows.
        line: Option<usize>,
    },
    /// A `SWITCHBACK__SECTION__KEY` environment override.
    Env {
        /// The variable's name.
        var: String,
    },
}

impl Origin {
    /// A file position.
    pub fn file(file: impl Into<PathBuf>, line: Option<usize>) -> Self {
        Origin::File {
            file: file.into(),
            line,
        }
    }

    /// The file named, if any.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Origin::File { file, .. } => Some(file),
            Origin::Env { .. } => None,
        }
    }

    /// The 1-based line, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Origin::File { line, .. } => *line,
            Origin::Env { .. } => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                file,
                line: Some(l),
            } => write!(f, "{}:{l}", file.display()),
            Origin::File { file, line: None } => write!(f, "{}", file.display()),
            Origin::Env { var } => write!(f, "env {var}"),
        }
    }
}

/// One configuration problem. Every variant says where (`at`) and which key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read at all.
    #[error("{at}: (file): cannot read: {problem}")]
    Read {
        /// The file.
        at: Origin,
        /// The operating system's reason.
        problem: String,
    },
    /// The TOML text does not parse.
    #[error("{at}: (syntax): {problem}")]
    Syntax {
        /// File and line of the error.
        at: Origin,
        /// The parser's message.
        problem: String,
    },
    /// A key the schema does not know (typo or misplaced).
    #[error("{at}: {key}: unknown key")]
    UnknownKey {
        /// Where it stands.
        at: Origin,
        /// Its dotted path.
        key: String,
    },
    /// A required key is absent.
    #[error("{at}: {key}: missing (required)")]
    MissingKey {
        /// The table it should be in.
        at: Origin,
        /// Its dotted path.
        key: String,
    },
    /// A value of the wrong TOML type (string for a number, …).
    #[error("{at}: {key}: {problem}")]
    WrongType {
        /// Where it stands.
        at: Origin,
        /// Its dotted path.
        key: String,
        /// What was found and what was expected.
        problem: String,
    },
    /// A value that does not parse or is out of range (duration, address, CIDR, name, …).
    #[error("{at}: {key}: {problem}")]
    BadValue {
        /// Where it stands.
        at: Origin,
        /// Its dotted path.
        key: String,
        /// What is wrong, quoting the value.
        problem: String,
    },
    /// Values that contradict each other or refer to something that does not exist.
    #[error("{at}: {key}: {problem}")]
    Conflict {
        /// Where it stands.
        at: Origin,
        /// Its dotted path.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// A file the config refers to does not exist or cannot be read.
    #[error("{at}: {key}: file {}: {problem}", path.display())]
    MissingFile {
        /// Where the reference stands.
        at: Origin,
        /// Its dotted path.
        key: String,
        /// The resolved path.
        path: PathBuf,
        /// Why it cannot be used.
        problem: String,
    },
    /// A problem inside a referenced probes or zone file.
    #[error("{at}: {key}: {problem}")]
    InReferencedFile {
        /// File and line inside the referenced file.
        at: Origin,
        /// The key inside that file (or `(zone)`).
        key: String,
        /// What is wrong.
        problem: String,
    },
}

impl ConfigError {
    /// Where the problem is.
    pub fn at(&self) -> &Origin {
        match self {
            ConfigError::Read { at, .. }
            | ConfigError::Syntax { at, .. }
            | ConfigError::UnknownKey { at, .. }
            | ConfigError::MissingKey { at, .. }
            | ConfigError::WrongType { at, .. }
            | ConfigError::BadValue { at, .. }
            | ConfigError::Conflict { at, .. }
            | ConfigError::MissingFile { at, .. }
            | ConfigError::InReferencedFile { at, .. } => at,
        }
    }

    /// The dotted key the problem is about (empty for whole-file problems).
    pub fn key(&self) -> &str {
        match self {
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => "",
            ConfigError::UnknownKey { key, .. }
            | ConfigError::MissingKey { key, .. }
            | ConfigError::WrongType { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::Conflict { key, .. }
            | ConfigError::MissingFile { key, .. }
            | ConfigError::InReferencedFile { key, .. } => key,
        }
    }
}

/// Every problem found in one config, in the order found; never empty when returned as an error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
