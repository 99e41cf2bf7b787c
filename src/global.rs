//! The process-wide tracer, for code that cannot be handed one.
//!
//! Until [`set_tracer`] is called, [`tracer`] returns the no-op tracer.

use std::sync::RwLock;

use crate::tracer::Tracer;

static GLOBAL: RwLock<Option<Tracer>> = RwLock::new(None);

/// Installs `tracer` as the global tracer and returns the previous one.
pub fn set_tracer(tracer: Tracer) -> Option<Tracer> {
    let mut slot = GLOBAL.write().unwrap_or_else(|e| e.into_inner());
    slot.replace(tracer)
}

/// The global tracer (a cheap clone), or the no-op tracer when none is set.
pub fn tracer() -> Tracer {
    GLOBAL
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_else(Tracer::noop)
}

/// Removes the global tracer, returning it; [`tracer`] is no-op again.
pub fn take_tracer() -> Option<Tracer> {
    GLOBAL.write().unwrap_or_else(|e| e.into_inner()).take()
}
