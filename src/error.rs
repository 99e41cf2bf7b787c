//! The crate's one error type.

use std::fmt;

/// What went wrong, in broad strokes. Kept private so it can grow; callers ask
/// through the `is_*` methods of [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A configuration value (builder argument or environment variable) is invalid.
    Config,
    /// A propagated span context could not be parsed.
    Propagation,
    /// An I/O operation failed (socket, thread spawn, carrier).
    Io,
    /// The tracer is closed.
    Closed,
    /// A flush or close did not complete within its deadline.
    Timeout,
}

/// The error returned by this crate's fallible operations.
///
/// Its `Display` names what was wrong (the variable and the value, the header
/// and its content); `source()` gives the underlying cause when there is one.
pub struct Error {
    kind: Kind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(Kind::Config, message)
    }

    /// An invalid environment variable: names the variable, the value and why.
    pub(crate) fn env(variable: &str, value: &str, why: impl fmt::Display) -> Self {
        Error::new(
            Kind::Config,
            format!("invalid value {value:?} for environment variable {variable}: {why}"),
        )
    }

    pub(crate) fn propagation(message: impl Into<String>) -> Self {
        Error::new(Kind::Propagation, message)
    }

    pub(crate) fn io(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error {
            kind: Kind::Io,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn closed() -> Self {
        Error::new(Kind::Closed, "the tracer is closed")
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Self {
        Error::new(Kind::Timeout, message)
    }

    /// True when a configuration value (builder argument or environment
    /// variable) was invalid.
    pub fn is_config(&self) -> bool {
        self.kind == Kind::Config
    }

    /// True when a propagated span context was malformed.
    pub fn is_propagation(&self) -> bool {
        self.kind == Kind::Propagation
    }

    /// True when an I/O operation failed.
    pub fn is_io(&self) -> bool {
        self.kind == Kind::Io
    }

    /// True when the operation needed an open tracer and it was closed.
    pub fn is_closed(&self) -> bool {
        self.kind == Kind::Closed
    }

    /// True when a flush or close ran past its deadline.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error with its causes, `error: cause: root cause`, for the logs. HTTP
/// clients keep what a user can act on (a refused connection, an untrusted
/// certificate, a name that does not resolve) in the source chain, under a
/// top message as bare as "error sending request". A cause whose text is
/// already in the line is left out.
pub(crate) fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let more = cause.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_joined_once_each() {
        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);
        impl fmt::Display for Layer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = Layer(
            "error sending request",
            Some(Box::new(Layer(
                "client error (Connect)",
                Some(Box::new(Layer(
                    "Connection refused",
                    Some(Box::new(Layer("refused", None))),
                ))),
            ))),
        );
        assert_eq!(
            with_causes(&e),
            "error sending request: client error (Connect): Connection refused"
        );
        assert_eq!(with_causes(&Layer("alone", None)), "alone");
    }

    #[test]
    fn env_error_names_variable_and_value() {
        let e = Error::env("JAEGER_AGENT_PORT", "abc", "not a port number");
        let text = e.to_string();
        assert!(text.contains("JAEGER_AGENT_PORT"), "{text}");
        assert!(text.contains("\"abc\""), "{text}");
        assert!(e.is_config());
        assert!(!e.is_io());
    }

    #[test]
    fn io_error_has_source() {
        let e = Error::io("send", std::io::Error::other("boom"));
        assert!(e.is_io());
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "boom");
    }
}
