//! Carriers: where injected headers are written and extracted ones read.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// A carrier a span context can be written into.
pub trait Injector {
    /// Stores `value` under `key` (keys are lowercase ASCII; values are
    /// printable ASCII without CR, LF or commas).
    fn set(&mut self, key: &str, value: String);

    /// As [`set`](Injector::set), for a key built for this call: carriers
    /// that store owned keys take it without copying. By default it calls
    /// `set`.
    fn set_owned(&mut self, key: String, value: String) {
        self.set(&key, value);
    }
}

/// A carrier a span context can be read from.
///
/// Header names are matched without regard to ASCII case.
pub trait Extractor {
    /// Calls `f` with every key/value pair.
    fn for_each(&self, f: &mut dyn FnMut(&str, &str));
}

impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        self.insert(key, value);
    }
}

impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            f(k, v);
        }
    }
}

impl Injector for BTreeMap<String, String> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_owned(), value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        self.insert(key, value);
    }
}

impl Extractor for BTreeMap<String, String> {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            f(k, v);
        }
    }
}

impl Injector for HeaderMap {
    /// Keys that are not valid header names (a baggage key with a space, for
    /// instance) are skipped with a debug log; values are always valid
    /// because they are percent-encoded.
    fn set(&mut self, key: &str, value: String) {
        match (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                self.insert(name, value);
            }
            _ => log::debug!("jaeger: header {key:?} cannot be injected into an HTTP header map"),
        }
    }
}

impl Extractor for HeaderMap {
    /// Values that are not visible ASCII are skipped.
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        for (k, v) in self {
            if let Ok(v) = v.to_str() {
                f(k.as_str(), v);
            }
        }
    }
}

impl<T: Injector + ?Sized> Injector for &mut T {
    fn set(&mut self, key: &str, value: String) {
        (**self).set(key, value);
    }

    fn set_owned(&mut self, key: String, value: String) {
        (**self).set_owned(key, value);
    }
}

impl<T: Extractor + ?Sized> Extractor for &T {
    fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        (**self).for_each(f);
    }
}
