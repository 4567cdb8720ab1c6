//! The capability type that only verification can produce.

use std::ops::Deref;

/// A value whose signatures have been checked by this crate.
///
/// Only this crate can construct one, in the `verify` functions, so a function that takes a
/// `Verified<T>` cannot be handed an unchecked `T` by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    /// Wraps a value that has just been verified.
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }

    /// Gives up the capability and returns the plain value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> AsRef<T> for Verified<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}
