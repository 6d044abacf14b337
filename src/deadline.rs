//! One bound for a whole `get`. Docker waits for a credential helper forever, so
//! the helper bounds itself: once a `get` goes past the cache (a cache hit cannot
//! block: every file on that path is opened without blocking), a watchdog thread
//! ends the process at [`GET_DEADLINE`] after it started, whatever it is waiting
//! for — another process's lock, a `credential_process` that hangs, the network.
//! The answer docker sees is then one line saying so, on stdout and stderr.
//!
//! `doctor` and `login` are bounded the same way, by [`DOCTOR_DEADLINE`].
//!
//! The MFA prompt is the one wait a person is part of: it has its own bound
//! ([`MFA_PROMPT_TIMEOUT`]), and the deadline is held back while it waits
//! ([`pause`]), so it moves by exactly the time the person took.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The most a `get` takes, from start to answer (the MFA prompt aside).
pub const GET_DEADLINE: Duration = Duration::from_secs(30);
/// The most `doctor` and `login` take (they make more calls than a `get`: who the
/// caller is, each role, the token), the MFA prompt aside.
pub const DOCTOR_DEADLINE: Duration = Duration::from_secs(60);
/// The most the MFA prompt waits for a code.
pub const MFA_PROMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// The process group of a child the watchdog kills before it ends the process
/// (0: none). See [`watch_child_group`].
static CHILD_GROUP: AtomicU32 = AtomicU32::new(0);

/// While the returned guard lives, the watchdog kills process group `group` (a
/// `credential_process` the helper started) before it ends the helper: no child of a
/// `get` outlives its deadline.
pub fn watch_child_group(group: u32) -> WatchedChild {
    CHILD_GROUP.store(group, Ordering::SeqCst);
    WatchedChild
}

/// See [`watch_child_group`].
#[derive(Debug)]
pub struct WatchedChild;

impl Drop for WatchedChild {
    fn drop(&mut self) {
        CHILD_GROUP.store(0, Ordering::SeqCst);
    }
}

/// Set by the watchdog just before it kills the watched child and ends the process.
static ENDING: AtomicBool = AtomicBool::new(false);

/// Blocks the calling thread for good if the watchdog is ending the process: a thread
/// that saw the watched child die of the watchdog's kill must not report that death
/// (the watchdog's one line is the answer, and `_exit` follows at once).
pub fn stand_by_if_ending() {
    if ENDING.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

/// Whether the watchdog's last line goes to stderr only (the kubelet plugin: its stdout
/// must hold a response or nothing).
static STDERR_ONLY: AtomicBool = AtomicBool::new(false);

/// Sends the watchdog's last line to stderr only, never to stdout.
pub fn last_words_to_stderr_only() {
    STDERR_ONLY.store(true, Ordering::SeqCst);
}

/// When the process started (for every deadline).
static START: OnceLock<Instant> = OnceLock::new();
/// The deadline, in milliseconds after [`START`]; 0 while no watchdog runs.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);

/// Notes the process start; call it first.
pub fn mark_start() {
    let _ = START.get_or_init(Instant::now);
}

fn elapsed_ms() -> u64 {
    START
        .get_or_init(Instant::now)
        .elapsed()
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}

/// Starts the watchdog (once) for a `get`: see [`arm_for`].
pub fn arm(message: String) {
    arm_for(GET_DEADLINE, message)
}

/// Starts the watchdog (once): at `bound` after the start it writes `message` (one
/// line) to stdout and stderr and exits 1.
pub fn arm_for(bound: Duration, message: String) {
    let deadline = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
    if DEADLINE_MS
        .compare_exchange(0, deadline, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return;
    }
    let line = format!("{message}\n");
    let spawned = std::thread::Builder::new()
        .name("deadline".into())
        .spawn(move || {
            loop {
                let now = elapsed_ms();
                let deadline = DEADLINE_MS.load(Ordering::SeqCst);
                if now >= deadline {
                    break;
                }
                // In slices, so a deadline moved back after a pause is noticed in time.
                std::thread::sleep(Duration::from_millis((deadline - now).min(250)));
            }
            ENDING.store(true, Ordering::SeqCst);
            crate::platform::kill_group(CHILD_GROUP.load(Ordering::SeqCst));
            crate::platform::reclaim_lent_terminal();
            crate::platform::write_and_exit(line.as_bytes(), STDERR_ONLY.load(Ordering::SeqCst))
        });
    if spawned.is_err() {
        DEADLINE_MS.store(0, Ordering::SeqCst);
    }
}

/// Holds the deadline back while a person is part of the wait (the MFA prompt and
/// its turn): the deadline is moved by `most` at once, so the watchdog cannot fire
/// meanwhile, and when the returned guard is dropped it is moved back to count only
/// the time the wait really took.
pub fn pause(most: Duration) -> Paused {
    let reserved = u64::try_from(most.as_millis()).unwrap_or(u64::MAX);
    shift(|d| d.saturating_add(reserved));
    Paused {
        started: Instant::now(),
        reserved,
    }
}

/// See [`pause`].
#[derive(Debug)]
pub struct Paused {
    started: Instant,
    reserved: u64,
}

impl Drop for Paused {
    fn drop(&mut self) {
        let used = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let unused = self.reserved.saturating_sub(used);
        shift(|d| d.saturating_sub(unused).max(1));
    }
}

/// Changes a running watchdog's deadline.
fn shift(f: impl Fn(u64) -> u64) {
    let _ = DEADLINE_MS.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
        (d != 0).then(|| f(d))
    });
}
