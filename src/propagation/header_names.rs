//! Interned header names for `http::HeaderMap` carriers.
//!
//! A baggage item travels under a header of its own (`uberctx-{key}`,
//! `baggage-{key}`), and a service sends the same few keys on every
//! request. `HeaderName::from_bytes` validates such a name, copies it into
//! a new allocation, and the map frees it with the request: with that
//! allocation and free, about an eighth of an inject into a `HeaderMap`
//! by instruction count (two baggage items). Here each distinct name
//! is validated once and kept for the life of the process as a static
//! string; the `HeaderName` handed to the map is then a copy of a pointer,
//! with no allocation, no reference count and nothing to free.
//!
//! The memory kept is bounded: at most [`INTERNED_MAX`] names of at most
//! [`LEN_MAX`] bytes each (16 KiB). Names beyond that bound, or longer, are
//! built per call as before.

use std::cell::RefCell;
use std::sync::Mutex;

use http::header::{HeaderName, InvalidHeaderName};

/// Distinct names kept for the life of the process, at most.
const INTERNED_MAX: usize = 256;
/// Longest name kept, in bytes.
const LEN_MAX: usize = 64;
/// Names each thread keeps at hand, most recently built or found.
const RECENT: usize = 8;

/// Every name kept, shared by all threads (looked up only when a thread's
/// own few do not have it).
static INTERNED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// A thread's names at hand (each kept name with its text), replaced in
/// turn.
struct Recent {
    names: [Option<(&'static str, HeaderName)>; RECENT],
    next: usize,
}

thread_local! {
    static RECENT_NAMES: RefCell<Recent> = const {
        RefCell::new(Recent {
            names: [const { None }; RECENT],
            next: 0,
        })
    };
}

/// The header name `{prefix}{key}` (`prefix` lowercase, as this crate's
/// prefixes are; `key` in any ASCII case, lowercased as `HeaderName` does).
///
/// # Errors
///
/// When `{prefix}{key}` is not a valid header name.
pub(crate) fn prefixed(prefix: &str, key: &str) -> Result<HeaderName, InvalidHeaderName> {
    debug_assert!(!prefix.bytes().any(|b| b.is_ascii_uppercase()));
    // (A name longer than `LEN_MAX` is never at hand nor kept: built below
    // and returned as it is.)
    let found = RECENT_NAMES.try_with(|recent| {
        let recent = recent.borrow();
        recent
            .names
            .iter()
            .flatten()
            .find(|(text, _)| is_prefixed(text, prefix, key))
            .map(|(_, name)| name.clone())
    });
    if let Ok(Some(name)) = found {
        return Ok(name);
    }
    // Kept before (by another thread, or pushed out of this one's names at
    // hand): found by its text, with nothing built, validated or allocated.
    let kept = INTERNED.lock().ok().and_then(|interned| {
        interned
            .iter()
            .copied()
            .find(|text| is_prefixed(text, prefix, key))
    });
    let (text, name) = match kept {
        // A kept text came from a valid `HeaderName`: `from_static` does
        // not panic on it.
        Some(text) => (text, HeaderName::from_static(text)),
        None => {
            let built = with_prefixed(prefix, key, |joined| {
                HeaderName::from_bytes(joined.as_bytes())
            })?;
            match intern(&built) {
                Some(kept) => kept,
                None => return Ok(built),
            }
        }
    };
    // (A thread being torn down builds its names per call.)
    let _ = RECENT_NAMES.try_with(|recent| {
        let mut recent = recent.borrow_mut();
        let at = recent.next;
        recent.names[at] = Some((text, name.clone()));
        recent.next = (at + 1) % RECENT;
    });
    Ok(name)
}

/// Calls `f` with `{prefix}{key}`, built on the stack when it is short (as
/// header names are: `HeaderName` copies it anyway).
fn with_prefixed<R>(prefix: &str, key: &str, f: impl FnOnce(&str) -> R) -> R {
    const ROOM: usize = 64;
    let len = prefix.len() + key.len();
    if len <= ROOM {
        let mut buf = [0u8; ROOM];
        buf[..prefix.len()].copy_from_slice(prefix.as_bytes());
        buf[prefix.len()..len].copy_from_slice(key.as_bytes());
        // (Not validated again: that was the most of this function's cost.)
        #[allow(unsafe_code)]
        // SAFETY: the bytes are those of two `str`s end to end, and two
        // UTF-8 strings end to end are UTF-8.
        let joined = unsafe { std::str::from_utf8_unchecked(&buf[..len]) };
        return f(joined);
    }
    f(&[prefix, key].concat())
}

/// Whether `name` is `{prefix}{key}`, `key` compared without regard to
/// ASCII case (`name` is lowercase).
fn is_prefixed(name: &str, prefix: &str, key: &str) -> bool {
    if name.len() != prefix.len() + key.len() {
        return false;
    }
    let (head, tail) = name.as_bytes().split_at(prefix.len());
    // (Keys are lowercase as a rule: compared as they are first.)
    same(head, prefix.as_bytes())
        && (same(tail, key.as_bytes()) || tail.eq_ignore_ascii_case(key.as_bytes()))
}

/// `a == b`, for the short strings of header names a word or two at a
/// time in line (`==` on slices calls `memcmp`).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = super::word_at;
    let half = |s: &[u8], at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[at..at + 4]);
        u32::from_ne_bytes(w)
    };
    match n {
        // The first and the last word (the same one, or overlapping).
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// `name` backed by a static string, kept from before or kept now, with
/// that string; `None` when the bound is reached (or the lock poisoned).
fn intern(name: &HeaderName) -> Option<(&'static str, HeaderName)> {
    let text = name.as_str();
    if text.len() > LEN_MAX {
        return None;
    }
    let kept = keep(&mut *INTERNED.lock().ok()?, text)?;
    // `text` came from a valid `HeaderName`, so it is lowercase and valid:
    // `from_static` does not panic on it.
    Some((kept, HeaderName::from_static(kept)))
}

/// `text` as a static string from `interned`, added to it while it holds
/// fewer than [`INTERNED_MAX`]; `None` beyond that.
fn keep(interned: &mut Vec<&'static str>, text: &str) -> Option<&'static str> {
    if let Some(kept) = interned.iter().find(|kept| **kept == text) {
        return Some(*kept);
    }
    if interned.len() >= INTERNED_MAX {
        return None;
    }
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    interned.push(kept);
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_ones_built_per_call_in_any_case() {
        for key in ["user", "User", "TENANT-id", "a.b_c~d"] {
            let got = prefixed("uberctx-", key).unwrap();
            let want = HeaderName::from_bytes(format!("uberctx-{key}").as_bytes()).unwrap();
            assert_eq!(got, want, "{key}");
            // The second time from the thread's names at hand.
            assert_eq!(prefixed("uberctx-", key).unwrap(), want, "{key}");
        }
        // Same key under another prefix: another name.
        assert_eq!(
            prefixed("baggage-", "user").unwrap().as_str(),
            "baggage-user"
        );
    }

    #[test]
    fn invalid_names_are_errors_and_not_kept() {
        assert!(prefixed("uberctx-", "a b").is_err());
        assert!(prefixed("uberctx-", "é").is_err());
        // Not kept by the first call, so refused again.
        assert!(prefixed("uberctx-", "a b").is_err());
        let interned = INTERNED.lock().unwrap();
        assert!(interned.iter().all(|n| !n.contains(' ')));
    }

    #[test]
    fn long_names_are_built_per_call_and_not_kept() {
        let key = "k".repeat(LEN_MAX);
        let got = prefixed("uberctx-", &key).unwrap();
        assert_eq!(got.as_str(), format!("uberctx-{key}"));
        let interned = INTERNED.lock().unwrap();
        assert!(interned.iter().all(|n| n.len() <= LEN_MAX));
    }

    #[test]
    fn prefixed_keys_are_joined_on_the_stack_and_beyond_it() {
        for len in [0, 1, 55, 56, 57, 200] {
            let key = "k".repeat(len);
            let joined = with_prefixed("uberctx-", &key, str::to_owned);
            assert_eq!(joined, format!("uberctx-{key}"));
        }
    }

    #[test]
    fn short_strings_compare_as_slices_do() {
        let texts: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n).map(|i| b'a' + i as u8).collect();
                let mut variants = vec![base.clone()];
                for at in 0..n {
                    let mut v = base.clone();
                    v[at] = b'Z';
                    variants.push(v);
                }
                variants
            })
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn no_more_than_the_bound_is_kept() {
        let mut interned = Vec::new();
        for i in 0..INTERNED_MAX {
            let text = format!("bound-{i}");
            assert_eq!(keep(&mut interned, &text), Some(text.as_str()));
        }
        assert_eq!(keep(&mut interned, "bound-0"), Some("bound-0"));
        assert_eq!(keep(&mut interned, "bound-over"), None);
        assert_eq!(interned.len(), INTERNED_MAX);
    }

    /// More distinct names than a thread keeps at hand all come back right,
    /// and each distinct name is kept once however many threads ask.
    #[test]
    fn many_names_from_many_threads_are_kept_once() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for round in 0..3 {
                        for i in 0..(RECENT * 2) {
                            let key = format!("many-{i}");
                            let name = prefixed("uberctx-", &key).unwrap();
                            assert_eq!(name.as_str(), format!("uberctx-{key}"), "round {round}");
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let interned = INTERNED.lock().unwrap();
        for i in 0..(RECENT * 2) {
            let name = format!("uberctx-many-{i}");
            assert_eq!(interned.iter().filter(|n| **n == name).count(), 1, "{name}");
        }
        assert!(interned.len() <= INTERNED_MAX);
    }
}
