//! A refused request with the closed-set reason it is counted under.

use crate::error::ApiError;
use common::token::VerifyError;

/// An [`ApiError`] labelled for `studio_rejections_total{scope, reason}`.
#[derive(Debug)]
pub struct Rejection {
    pub reason: &'static str,
    pub error: ApiError,
}

/// Attaches a reason to an error on its way out of a handler.
pub trait Reason<T> {
    fn reason(self, reason: &'static str) -> Result<T, Rejection>;
}

impl<T> Reason<T> for Result<T, ApiError> {
    fn reason(self, reason: &'static str) -> Result<T, Rejection> {
        self.map_err(|error| Rejection { reason, error })
    }
}

impl From<VerifyError> for Rejection {
    fn from(error: VerifyError) -> Self {
        Rejection {
            reason: error.reason(),
            error: error.into(),
        }
    }
}
