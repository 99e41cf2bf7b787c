//! Span timestamps: wall-clock microseconds, read cheaply.
//!
//! The *reference clock* is the wall clock read once, paired with a
//! monotonic instant, plus the monotonic time elapsed since: durations never
//! go negative when the wall clock is stepped. A step is still followed: at
//! each reporter tick ([`recalibrate`]) the wall clock is read again, and
//! when it is more than a millisecond from the reference clock (NTP stepped
//! it, a leap second, a virtual machine resumed: the monotonic clock stops
//! while a machine sleeps) the pair is taken anew. Otherwise every span of
//! a long-lived process would be shifted from other processes' spans by
//! each step since it started. (Slewing moves both clocks alike.)
//!
//! Reading the monotonic clock costs a `clock_gettime` call (20–40 ns on a
//! virtual machine, a third of a span's cost). Where the kernel itself keeps
//! time with the CPU's time-stamp counter (Linux on x86-64 with the `tsc`
//! clocksource, which the kernel only selects when the counter is invariant
//! and synchronised across CPUs), a timestamp is instead one `rdtsc` and a
//! multiplication: the reporter thread calibrates the counter against the
//! reference clock at each of its ticks ([`recalibrate`]) and publishes the
//! conversion (a base counter value, its reference time and the rate) under
//! a sequence lock. Until the first calibration, elsewhere, and while a new
//! conversion is being published, timestamps come from the reference clock.
//! Re-anchoring at every tick keeps the two clocks within a microsecond or
//! so of each other; the rate is measured over the whole time since the
//! first calibration sample (a step of the wall clock moves that sample
//! along, so the rate is not skewed by it).
//!
//! A span's start and end need not even be converted where they are taken:
//! a [`stamp`] is the raw counter reading (marked by its top bit), and the
//! reporter thread converts it ([`micros`]) when it encodes the span. Both
//! ends of a span are then converted by the same conversion, and its
//! duration is kept across a step. (Where there is no counter, a span open
//! while a step is followed gets the step in its duration, or a duration of
//! zero for a step back.)

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The monotonic instant of the reference clock's pair.
static ORIGIN: OnceLock<Instant> = OnceLock::new();
/// Wall-clock nanoseconds at [`ORIGIN`]: the wall clock read with it, moved
/// by each step of the wall clock followed since.
static WALL_AT_ORIGIN: AtomicU64 = AtomicU64::new(0);

/// A wall clock further than this from the reference clock was stepped.
const STEP: Duration = Duration::from_millis(1);

fn origin() -> Instant {
    *ORIGIN.get_or_init(|| {
        let now = Instant::now();
        WALL_AT_ORIGIN.store(system_time_nanos(SystemTime::now()), Relaxed);
        now
    })
}

fn system_time_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Nanoseconds since the Unix epoch by the reference clock.
fn reference_nanos() -> u64 {
    let origin = origin();
    WALL_AT_ORIGIN.load(Relaxed) + origin.elapsed().as_nanos() as u64
}

/// Microseconds since the Unix epoch by the reference clock.
fn reference_micros() -> u64 {
    reference_nanos() / 1000
}

/// The wall-clock nanoseconds at [`ORIGIN`] that the wall clock gives now:
/// from the tightest of a few (monotonic, wall, monotonic) readings, or
/// `None` when this thread was held up in each.
fn wall_at_origin_now() -> Option<u64> {
    let origin = origin();
    let mut best: Option<(Duration, u64)> = None;
    for _ in 0..3 {
        let before = origin.elapsed();
        let wall = system_time_nanos(SystemTime::now());
        #[cfg(test)]
        let wall = wall.saturating_add_signed(tests::WALL_STEP.load(Relaxed));
        let after = origin.elapsed();
        let width = after.saturating_sub(before);
        let mid = (before + width / 2).as_nanos() as u64;
        if best.is_none_or(|(w, _)| width < w) {
            best = Some((width, wall.saturating_sub(mid)));
        }
    }
    best.filter(|(width, _)| *width < STEP / 2)
        .map(|(_, at)| at)
}

/// Takes the reference clock's pair anew when the wall clock was stepped
/// (see the module's notes); returns the step followed, in nanoseconds
/// (zero when none was).
fn follow_wall_clock() -> i64 {
    follow(&WALL_AT_ORIGIN, wall_at_origin_now())
}

/// Moves `anchor` to `now` when they are further apart than [`STEP`].
fn follow(anchor: &AtomicU64, now: Option<u64>) -> i64 {
    let Some(now) = now else {
        return 0;
    };
    let was = anchor.load(Relaxed);
    let step = now as i64 - was as i64;
    if step.unsigned_abs() <= STEP.as_nanos() as u64 {
        return 0;
    }
    anchor.store(now, Relaxed);
    log::info!(
        "jaeger: the wall clock was stepped by {:+.6} s; span timestamps follow it",
        step as f64 / 1e9
    );
    step
}

/// A stamp's top bit: set when the rest is a raw counter reading.
pub(crate) const RAW: u64 = 1 << 63;

/// A span's timestamp as taken on an application thread: microseconds
/// since the Unix epoch, or (top bit [`RAW`] set) a raw time-stamp counter
/// reading, converted to microseconds by [`micros`] off the application
/// thread.
#[inline]
pub(crate) fn stamp() -> u64 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if let Some(raw) = tsc::stamp() {
        return raw | RAW;
    }
    reference_micros()
}

/// Microseconds since the Unix epoch of a [`stamp`].
///
/// A raw reading is converted by the conversion published now: the
/// re-anchoring at each reporter tick moves it by a microsecond or so. Once
/// the counter has been found unreliable (see `recalibrate`), raw readings
/// taken before are still converted by the last conversion published,
/// under which they were taken.
pub(crate) fn micros(stamp: u64) -> u64 {
    if stamp & RAW == 0 {
        return stamp;
    }
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if let Some(us) = tsc::micros_of(stamp & !RAW) {
        return us;
    }
    // (Only while a conversion is being rewritten, for longer than it
    // takes: the time of the reading is lost, now is the nearest known.)
    reference_micros()
}

/// Microseconds since the Unix epoch, now.
#[inline]
pub(crate) fn now_micros() -> u64 {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if let Some(us) = tsc::now_micros() {
        return us;
    }
    reference_micros()
}

/// Re-anchors the fast clock to the reference clock (and calibrates it on
/// the first calls). Called by reporter threads at each tick; cheap.
pub(crate) fn recalibrate() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    tsc::recalibrate();
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    follow_wall_clock();
}

/// True when timestamps come from the fast clock (always false where
/// there is none): until then the reporter calibrates at every poll rather
/// than at every tick, so a new process gets the fast clock within tens of
/// milliseconds.
pub(crate) fn calibrated() -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    return tsc::published() || !tsc::usable();
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    return true;
}

/// Microseconds since the Unix epoch of `t`: zero before the epoch, and
/// at most `i64::MAX` (the wire's type; larger would also read as a raw
/// [`stamp`]).
pub(crate) fn system_time_micros(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros().min(i64::MAX as u128) as u64)
        .unwrap_or(0)
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod tsc {
    use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Fixed-point scale of [`MULT`]: microseconds per cycle times 2^40.
    const SHIFT: u32 = 40;
    /// A new baseline needs this much reference time before it gives a rate.
    const MIN_BASELINE_NS: u64 = 10_000_000;

    /// A sequence lock over the conversion: odd while one is being
    /// written, zero before the first.
    static SEQ: AtomicU64 = AtomicU64::new(0);
    /// Whether timestamps may come from the counter: set once a conversion
    /// is published, cleared when the counter is found unreliable.
    static VALID: AtomicBool = AtomicBool::new(false);
    static BASE_TSC: AtomicU64 = AtomicU64::new(0);
    static BASE_US: AtomicU64 = AtomicU64::new(0);
    static MULT: AtomicU64 = AtomicU64::new(0);

    /// The calibrator's state: the first sample (counter, reference ns),
    /// and whether the clocksource allows the counter at all.
    struct Calibrator {
        usable: Option<bool>,
        baseline: Option<(u64, u64)>,
        mult: u64,
    }

    static CALIBRATOR: Mutex<Calibrator> = Mutex::new(Calibrator {
        usable: None,
        baseline: None,
        mult: 0,
    });

    #[allow(unsafe_code)]
    #[inline]
    fn rdtsc() -> u64 {
        // SAFETY: `rdtsc` only reads the time-stamp counter into registers;
        // it touches no memory and has no preconditions.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// The kernel keeps time with the counter only when it found it
    /// invariant and synchronised across CPUs.
    fn clocksource_is_tsc() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .map(|s| s.trim() == "tsc")
            .unwrap_or(false)
    }

    #[inline]
    pub(super) fn now_micros() -> Option<u64> {
        if !VALID.load(Ordering::Relaxed) {
            return None;
        }
        let (base_tsc, base_us, mult) = conversion()?;
        Some(convert(rdtsc(), base_tsc, base_us, mult))
    }

    /// A raw reading, when timestamps may come from the counter.
    #[inline]
    pub(super) fn stamp() -> Option<u64> {
        VALID.load(Ordering::Acquire).then(|| rdtsc() & !super::RAW)
    }

    /// Microseconds of a raw reading by the last conversion published
    /// (`None` while one is being written, for longer than a few tries).
    pub(super) fn micros_of(tsc: u64) -> Option<u64> {
        for _ in 0..100 {
            if let Some((base_tsc, base_us, mult)) = conversion() {
                return Some(convert(tsc, base_tsc, base_us, mult));
            }
            std::hint::spin_loop();
        }
        None
    }

    /// The conversion published (base counter, its µs, rate), unless none
    /// was or one is being written right now.
    #[inline]
    fn conversion() -> Option<(u64, u64, u64)> {
        let seq = SEQ.load(Ordering::Acquire);
        if seq == 0 || seq & 1 == 1 {
            return None;
        }
        let base_tsc = BASE_TSC.load(Ordering::Relaxed);
        let base_us = BASE_US.load(Ordering::Relaxed);
        let mult = MULT.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (SEQ.load(Ordering::Relaxed) == seq).then_some((base_tsc, base_us, mult))
    }

    #[inline]
    fn convert(tsc: u64, base_tsc: u64, base_us: u64, mult: u64) -> u64 {
        if tsc >= base_tsc {
            let delta = ((tsc - base_tsc) as u128 * mult as u128) >> SHIFT;
            base_us.saturating_add(delta as u64)
        } else {
            let delta = ((base_tsc - tsc) as u128 * mult as u128) >> SHIFT;
            base_us.saturating_sub(delta as u64)
        }
    }

    /// A (counter, reference ns) pair read as close together as this thread
    /// manages: the tightest of a few tries.
    fn sample() -> (u64, u64) {
        let mut best = (u64::MAX, 0, 0);
        for _ in 0..5 {
            let t1 = rdtsc();
            let ns = super::reference_nanos();
            let t2 = rdtsc();
            let width = t2.wrapping_sub(t1);
            if width < best.0 {
                best = (width, t1 / 2 + t2 / 2, ns);
            }
        }
        (best.1, best.2)
    }

    pub(super) fn published() -> bool {
        VALID.load(Ordering::Relaxed)
    }

    /// False once the clocksource was found not to be the counter.
    pub(super) fn usable() -> bool {
        CALIBRATOR
            .try_lock()
            .map_or(true, |cal| cal.usable != Some(false))
    }

    pub(super) fn recalibrate() {
        let Ok(mut cal) = CALIBRATOR.try_lock() else {
            // Another reporter is calibrating right now.
            return;
        };
        let stepped = super::follow_wall_clock();
        if stepped != 0 {
            // The rate is measured from the first sample to now by the
            // reference clock, which just moved by the step: so does the
            // first sample.
            if let Some((_, ns0)) = &mut cal.baseline {
                *ns0 = ns0.saturating_add_signed(stepped);
            }
        }
        if *cal.usable.get_or_insert_with(clocksource_is_tsc) {
            step(&mut cal);
        }
    }

    fn step(cal: &mut Calibrator) {
        let (tsc, ns) = sample();
        let Some((tsc0, ns0)) = cal.baseline else {
            cal.baseline = Some((tsc, ns));
            return;
        };
        if tsc <= tsc0 || ns <= ns0 {
            // The counter or the clock went backwards (a migrated virtual
            // machine, say): start over from the reference clock.
            unpublish();
            cal.baseline = Some((tsc, ns));
            return;
        }
        if ns - ns0 < MIN_BASELINE_NS {
            return;
        }
        // µs per cycle × 2^SHIFT, measured over the whole baseline.
        let mult = ((((ns - ns0) as u128) << SHIFT) / (1000 * (tsc - tsc0) as u128)) as u64;
        if cal.mult != 0 && mult.abs_diff(cal.mult) > cal.mult / 100 {
            // The rate moved by more than 1 %: the counter is not what it
            // was. Fall back and measure again from here.
            unpublish();
            cal.mult = 0;
            cal.baseline = Some((tsc, ns));
            return;
        }
        cal.mult = mult;
        publish(tsc, ns / 1000, mult);
    }

    fn publish(base_tsc: u64, base_us: u64, mult: u64) {
        let seq = SEQ.load(Ordering::Relaxed);
        SEQ.store(seq | 1, Ordering::Relaxed);
        fence(Ordering::Release);
        BASE_TSC.store(base_tsc, Ordering::Relaxed);
        BASE_US.store(base_us, Ordering::Relaxed);
        MULT.store(mult, Ordering::Relaxed);
        SEQ.store((seq | 1) + 1, Ordering::Release);
        VALID.store(true, Ordering::Release);
    }

    /// Timestamps come from the reference clock again; the conversion
    /// stays, for the raw readings taken under it.
    fn unpublish() {
        VALID.store(false, Ordering::Release);
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn conversion_is_linear_around_the_base() {
            // 1 µs per 1000 cycles.
            let mult = (1u64 << SHIFT) / 1000;
            assert_eq!(convert(10_000, 10_000, 5, mult), 5);
            assert_eq!(convert(1_010_000, 10_000, 5, mult), 5 + 999);
            assert_eq!(convert(0, 10_000, 5, mult), 0);
            assert_eq!(convert(u64::MAX, 0, u64::MAX - 1, mult), u64::MAX);
        }

        /// Calibrates the counter now (two ticks 30 ms apart), holding the
        /// other clock tests off; `None` where the counter is not the
        /// clocksource, so there is nothing to check.
        fn calibrated_now() -> Option<std::sync::MutexGuard<'static, ()>> {
            if !clocksource_is_tsc() {
                eprintln!("clocksource is not tsc: the reference clock is used; nothing to check");
                return None;
            }
            let one = crate::clock::tests_one_at_a_time();
            super::super::recalibrate();
            std::thread::sleep(std::time::Duration::from_millis(30));
            super::super::recalibrate();
            Some(one)
        }

        #[test]
        fn calibrated_clock_agrees_with_the_reference_clock() {
            let Some(_one) = calibrated_now() else {
                return;
            };
            let cal = CALIBRATOR.lock().unwrap();
            assert!(cal.mult > 0, "calibrated");
            drop(cal);
            let mut last = 0;
            for _ in 0..10 {
                let fast = now_micros().expect("published");
                let reference = super::super::reference_micros();
                assert!(fast >= last, "monotonic: {fast} after {last}");
                last = fast;
                // Within 200 µs: scheduling between the two reads aside,
                // they differ by the rate error over at most 30 ms.
                assert!(
                    fast.abs_diff(reference) < 200,
                    "fast {fast} vs reference {reference}"
                );
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
        }

        /// The wall clock stepped 20 ms forward, then back: the next tick
        /// follows each step, the rate measured stays what it was, and a
        /// span open across a step keeps its duration.
        #[test]
        fn a_stepped_wall_clock_is_followed_without_skewing_the_rate() {
            use super::super::tests::WALL_STEP;
            use super::super::{micros, stamp, system_time_micros};
            use std::sync::atomic::Ordering::Relaxed;
            use std::time::SystemTime;
            let Some(_one) = calibrated_now() else {
                return;
            };
            let rate = CALIBRATOR.lock().unwrap().mult;
            for step in [20_000_000i64, 0] {
                let opened = stamp();
                WALL_STEP.store(step, Relaxed);
                let wall = || system_time_micros(SystemTime::now()) as i64 + step / 1000;
                // (A reporter thread of another test may follow it first.)
                super::super::recalibrate();
                let closed = stamp();
                let fast = now_micros().expect("the counter is still used") as i64;
                assert!(
                    (fast - wall()).abs() < 1_000,
                    "followed: {fast} vs {}",
                    wall()
                );
                let mult = CALIBRATOR.lock().unwrap().mult;
                assert!(
                    mult.abs_diff(rate) <= rate / 1000,
                    "rate {rate} became {mult}"
                );
                let duration = micros(closed) - micros(opened);
                assert!(
                    duration < 5_000,
                    "a span open across the step lasted {duration} µs"
                );
            }
        }

        #[test]
        fn raw_stamps_convert_to_the_time_they_were_taken() {
            use super::super::{micros, stamp, RAW};
            let Some(_one) = calibrated_now() else {
                return;
            };
            assert!(published(), "calibrated");
            let taken = stamp();
            let reference = super::super::reference_micros();
            assert_eq!(taken & RAW, RAW, "a raw reading once calibrated");
            assert!(micros(taken).abs_diff(reference) < 200);
            // Found unreliable later: new stamps are microseconds, and the
            // raw one taken before is still converted to its own time (not
            // to the time of its conversion, 20 ms on).
            std::thread::sleep(std::time::Duration::from_millis(20));
            // (Holding the calibrator: no reporter thread of another test
            // publishes meanwhile.)
            let mut cal = CALIBRATOR.lock().unwrap_or_else(|e| e.into_inner());
            unpublish();
            let later = stamp();
            assert_eq!(later & RAW, 0, "microseconds once withdrawn");
            assert!(micros(taken).abs_diff(reference) < 200);
            assert!(micros(later) >= micros(taken) + 19_000);
            // The calibration starts over: the next ticks publish again.
            let (tsc, ns) = sample();
            cal.baseline = Some((tsc, ns));
            cal.mult = 0;
            drop(cal);
        }
    }
}

/// Serialises the tests that publish, withdraw or wait for the process's
/// conversion.
#[cfg(test)]
pub(crate) fn tests_one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    #[test]
    fn microsecond_stamps_are_their_own_time() {
        assert_eq!(micros(1_700_000_000_000_000), 1_700_000_000_000_000);
        let s = stamp();
        let us = micros(s);
        let wall = system_time_micros(SystemTime::now());
        assert!(wall.abs_diff(us) < 1_000_000, "{wall} vs {us}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_clock_tracks_wall_clock() {
        let a = now_micros();
        let wall = system_time_micros(SystemTime::now());
        let b = now_micros();
        assert!(b >= a);
        // Within a second of the wall clock: the anchor was taken moments ago.
        assert!(wall.abs_diff(b) < 1_000_000, "{wall} vs {b}");
    }

    /// How far the wall clock is made to step, in nanoseconds.
    pub(super) static WALL_STEP: std::sync::atomic::AtomicI64 =
        std::sync::atomic::AtomicI64::new(0);

    #[test]
    fn only_a_wall_clock_further_than_a_millisecond_off_is_followed() {
        let now = wall_at_origin_now().expect("a reading within half a millisecond");
        // Where the wall clock is now, by the pair taken at the start.
        assert!(now.abs_diff(WALL_AT_ORIGIN.load(Relaxed)) < 1_000_000);
        let was = 1_800_000_000_000_000_000;
        let anchor = AtomicU64::new(was);
        assert_eq!(follow(&anchor, Some(was + 900_000)), 0);
        assert_eq!(follow(&anchor, Some(was - 900_000)), 0);
        assert_eq!(follow(&anchor, None), 0);
        assert_eq!(anchor.load(Relaxed), was);
        assert_eq!(follow(&anchor, Some(was - 3_000_000_000)), -3_000_000_000);
        assert_eq!(anchor.load(Relaxed), was - 3_000_000_000);
        assert_eq!(follow(&anchor, Some(was + 1_100_000)), 3_001_100_000);
        assert_eq!(anchor.load(Relaxed), was + 1_100_000);
    }

    #[test]
    fn times_given_by_the_caller_convert_without_wrapping() {
        use std::time::Duration;
        // Beyond 2554, nanoseconds since the epoch no longer fit in a u64:
        // the microseconds still do.
        let year_3000 = UNIX_EPOCH + Duration::from_secs(32_503_680_000);
        assert_eq!(system_time_micros(year_3000), 32_503_680_000_000_000);
        assert_eq!(
            micros(system_time_micros(year_3000)),
            32_503_680_000_000_000
        );
        // Beyond what the wire's i64 holds: the largest it does, never a
        // value with the raw-stamp bit set.
        if let Some(far) = UNIX_EPOCH.checked_add(Duration::from_secs(1 << 60)) {
            assert_eq!(system_time_micros(far), i64::MAX as u64);
            assert_eq!(system_time_micros(far) & RAW, 0);
        }
        assert_eq!(system_time_micros(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
