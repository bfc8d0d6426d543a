//! Why a catalog could not be loaded, and why a studio call was refused.

use std::path::PathBuf;

use crate::model::ValueKind;

/// Loading failed; each message names the file, since it surfaces in the startup log.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the API catalog {path}: {source}", path = path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the API catalog {source_name} is not valid JSON: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("the API catalog {source_name} is not a usable OpenAPI 3 document: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
}

/// A studio call the catalog refuses. The messages are shown to the person composing the call,
/// so each says in plain words what is wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ValidationError {
    #[error("the catalog has no operation {0}")]
    UnknownOperation(String),
    #[error("the path parameter {0} is missing or empty")]
    MissingPathParameter(String),
    #[error("the path parameter {0} is not part of this operation's path")]
    UnknownPathParameter(String),
    /// A value of exactly `.` or `..` would be read as a dot segment by URL parsers, even
    /// percent-encoded, and move the call to another path.
    #[error("the path parameter {0} may not be \".\" or \"..\"")]
    InvalidPathParameter(String),
    #[error("workspaceId must be the workspace the add-on is installed on")]
    ForeignWorkspace,
    #[error("the query parameter {0} is not accepted by this operation")]
    UnknownQueryParameter(String),
    #[error("the query parameter {0} is required")]
    MissingQueryParameter(String),
    #[error("the query parameter {name} must be {expected}")]
    WrongQueryType { name: String, expected: ValueKind },
    #[error("this operation needs a JSON body")]
    BodyRequired,
    #[error("this operation takes no body")]
    BodyNotAllowed,
    #[error("the body must be {expected}, not {found}")]
    WrongBodyType {
        expected: ValueKind,
        found: ValueKind,
    },
    #[error("name the operation by operation_id, or by method and path")]
    AmbiguousOperation,
}
