//! Every call into the operating system that std does not offer, in one place, each
//! behind one safe function: who we are, the machine's name, the terminal's
//! foreground, waiting for a terminal to become readable, and the watchdog's last
//! words. Linux and macOS share one code path for each; a later port (Windows) is
//! this file. rustix's safe wrappers make most of them; `libc` is left for what
//! rustix offers no safe call for (`select`, `signal`, `_exit`), each with its reason.
//!
//! Two choices here are made for reach, not taste:
//! - the home directory of a uid is read from `/etc/passwd` by hand, not through
//!   `getpwuid_r`: the Linux release binary is linked statically, and static glibc
//!   still loads the NSS modules `/etc/nsswitch.conf` names (`systemd`, `sss`, …)
//!   with the system's shared libc, which crashes the process. A user known only to
//!   LDAP or SSSD therefore needs `HOME` set, as every login session sets it.
//! - a terminal is waited on with `select(2)`, not `poll(2)`: macOS `poll` does not
//!   support devices and answers `POLLNVAL` for `/dev/tty` (its man page, BUGS).
//!   `select` works on both systems, so Linux's tests exercise what macOS runs.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::time::Duration;

/// The real uid of this process.
pub fn uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// The machine's host name as the kernel knows it (`uname`, no name service).
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The home directory of `uid` in the local passwd file, `/etc/passwd` (see the
/// module's note on why no name service is asked).
pub fn passwd_home(uid: u32) -> Option<PathBuf> {
    let text = std::fs::read("/etc/passwd").ok()?;
    home_in_passwd(&text, uid)
}

/// The home of `uid` in passwd-format text (`name:pw:uid:gid:gecos:home:shell`): the
/// first entry for the uid wins, as in glibc's `files` module; only absolute homes count.
pub fn home_in_passwd(text: &[u8], uid: u32) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let wanted = uid.to_string();
    text.split(|&b| b == b'\n')
        .filter(|line| {
            !line.starts_with(b"#") && !line.starts_with(b"+") && !line.starts_with(b"-")
        })
        .map(|line| line.split(|&b| b == b':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 7 && fields[2] == wanted.as_bytes())
        .map(|fields| PathBuf::from(std::ffi::OsStr::from_bytes(fields[5])))
        .filter(|home| home.is_absolute())
}

/// The uid that owns `path`, if it exists (a home under `sudo -E` is another user's).
pub fn owner_of(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.uid())
}

/// Whether this process is in the foreground process group of the terminal `tty`
/// (a background job reading it would be stopped by SIGTTIN).
pub fn in_foreground(tty: BorrowedFd<'_>) -> bool {
    rustix::termios::tcgetpgrp(tty).is_ok_and(|group| group == rustix::process::getpgrp())
}

/// Waits until `fd` has something to read, at most `limit`. `false`: nothing came in
/// time, or the wait failed. Uses `select(2)`, which macOS supports for terminals.
pub fn wait_readable(fd: BorrowedFd<'_>, limit: Duration) -> bool {
    let raw = fd.as_raw_fd();
    if raw < 0 || raw >= libc::FD_SETSIZE as i32 || limit.is_zero() {
        return false;
    }
    let mut timeout = libc::timeval {
        tv_sec: libc::time_t::try_from(limit.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: limit.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: an all-zero fd_set is the empty set; FD_ZERO and FD_SET get that valid
    // set and a descriptor below FD_SETSIZE (checked above); select gets the set and
    // the timeout, both valid for the call, and no other set.
    let ready = unsafe {
        let mut set: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut set);
        libc::FD_SET(raw, &mut set);
        libc::select(
            raw + 1,
            &mut set,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut timeout,
        )
    };
    ready > 0
}

/// Writes `line` to stderr, and to stdout unless `stderr_only`, with plain `write(2)`
/// calls and ends the process with status 1 at once: the watchdog's exit, which must
/// not wait for std's stdout lock (the main thread may hold it) nor run destructors
/// or exit handlers (hence `_exit`, which rustix has no safe call for).
pub fn write_and_exit(line: &[u8], stderr_only: bool) -> ! {
    if !stderr_only {
        let _ = rustix::io::write(rustix::stdio::stdout(), line);
    }
    let _ = rustix::io::write(rustix::stdio::stderr(), line);
    // SAFETY: ends the process; cache writes are atomic renames, nothing is half-written.
    unsafe { libc::_exit(1) }
}

/// Sets an environment variable for the rest of the process. Call it only from
/// `main`'s first steps, while the process has a single thread (see `home::settle`):
/// that is the condition under which `std::env::set_var` is sound.
pub fn set_env_at_start(name: &str, value: impl AsRef<std::ffi::OsStr>) {
    // SAFETY: the callers run before any other thread exists (documented above).
    unsafe { std::env::set_var(name, value) };
}

/// Kills process group `group` (SIGKILL to every process in it); 0 does nothing.
pub fn kill_group(group: u32) {
    if let Some(group) = pid(group) {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    }
}

/// A process (group) id; `None` for 0 and ids out of range.
fn pid(id: u32) -> Option<rustix::process::Pid> {
    rustix::process::Pid::from_raw(i32::try_from(id).ok()?)
}

/// The controlling terminal's foreground, lent to a child's process group for the
/// child's run (as a shell lends it to a job) and taken back when this is dropped.
pub struct ForegroundTerminal {
    tty: std::fs::File,
}

impl ForegroundTerminal {
    /// Gives the terminal's foreground to `group`, if this process has a controlling
    /// terminal and is in its foreground (a background job keeps its hands off);
    /// `None` otherwise.
    pub fn give_to(group: u32) -> Option<ForegroundTerminal> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        if !in_foreground(tty.as_fd_ref()) {
            return None;
        }
        let group = pid(group)?;
        if !set_foreground(tty.as_fd_ref(), group) {
            return None;
        }
        // A child that touched the terminal before it was given the foreground was
        // stopped by SIGTTIN: it may go on now.
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::CONT);
        LENT_TTY.store(tty.as_raw_fd(), std::sync::atomic::Ordering::SeqCst);
        Some(ForegroundTerminal { tty })
    }
}

impl Drop for ForegroundTerminal {
    fn drop(&mut self) {
        LENT_TTY.store(-1, std::sync::atomic::Ordering::SeqCst);
        take_terminal_back(self.tty.as_raw_fd());
    }
}

/// The terminal lent to a child's group (its descriptor), or -1: the watchdog takes
/// it back before it ends the process ([`reclaim_lent_terminal`]).
static LENT_TTY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Takes back a terminal lent with [`ForegroundTerminal`] (the watchdog's last step
/// before it ends the process: docker must not be left in the background).
pub fn reclaim_lent_terminal() {
    let fd = LENT_TTY.swap(-1, std::sync::atomic::Ordering::SeqCst);
    if fd >= 0 {
        take_terminal_back(fd);
    }
}

fn take_terminal_back(fd: i32) {
    // SAFETY: `fd` is the lent terminal's descriptor, kept open by the
    // `ForegroundTerminal` that stored it until it is swapped out of LENT_TTY
    // (its drop, or the watchdog's exit, which ends the process).
    let tty = unsafe { BorrowedFd::borrow_raw(fd) };
    set_foreground(tty, rustix::process::getpgrp());
}

/// `tcsetpgrp` with SIGTTOU ignored for the call: taking the foreground back from a
/// background position would otherwise stop this process (shells do the same).
/// rustix has no safe call to set a signal's disposition.
fn set_foreground(tty: BorrowedFd<'_>, group: rustix::process::Pid) -> bool {
    // SAFETY: SIG_IGN is a valid disposition; the previous one is restored at once.
    let previous = unsafe { libc::signal(libc::SIGTTOU, libc::SIG_IGN) };
    let done = rustix::termios::tcsetpgrp(tty, group).is_ok();
    // SAFETY: restores the disposition returned above.
    unsafe { libc::signal(libc::SIGTTOU, previous) };
    done
}

trait AsFdRef {
    fn as_fd_ref(&self) -> BorrowedFd<'_>;
}

impl AsFdRef for std::fs::File {
    fn as_fd_ref(&self) -> BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(self)
    }
}

/// Open flags that refuse a symlink at the last component (`O_NOFOLLOW`).
pub const NO_FOLLOW: i32 = libc::O_NOFOLLOW;
/// Open flags that never block on a FIFO or a device (`O_NONBLOCK`).
pub const NO_BLOCK: i32 = libc::O_NONBLOCK;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn passwd_homes_are_read_as_glibc_files_reads_them() {
        let text = b"# a comment\nroot:x:0:0:root:/root:/bin/bash\n\
            +nisuser::::::\nrel:x:7:7::relative/home:/bin/sh\n\
            app:x:1000:1000:App,,,:/home/app:/bin/bash\ndup:x:1000:1000::/home/dup:/bin/sh\nshort:x:42\n";
        assert_eq!(home_in_passwd(text, 0).as_deref(), Some(Path::new("/root")));
        assert_eq!(
            home_in_passwd(text, 1000).as_deref(),
            Some(Path::new("/home/app"))
        );
        assert_eq!(home_in_passwd(text, 7), None, "a relative home is no home");
        assert_eq!(home_in_passwd(text, 42), None, "a short line is no entry");
        assert_eq!(home_in_passwd(text, 4242), None);
        assert_eq!(home_in_passwd(b"", 0), None);
    }

    #[test]
    fn this_process_finds_its_own_passwd_home_when_it_has_one() {
        // The test runs as a user of this machine's /etc/passwd (root in CI).
        let listed = std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .any(|l| l.split(':').nth(2) == Some(&uid().to_string()));
        assert_eq!(passwd_home(uid()).is_some(), listed);
    }

    #[test]
    fn a_pipe_is_waited_on_with_select_until_data_or_the_limit() {
        use std::io::Write;
        let (reader, mut writer) = std::io::pipe().unwrap();
        let started = std::time::Instant::now();
        assert!(!wait_readable(
            reader.as_fd_borrowed(),
            Duration::from_millis(50)
        ));
        assert!(started.elapsed() >= Duration::from_millis(45));
        writer.write_all(b"1").unwrap();
        assert!(wait_readable(
            reader.as_fd_borrowed(),
            Duration::from_secs(5)
        ));
        assert!(!wait_readable(reader.as_fd_borrowed(), Duration::ZERO));
    }

    trait Borrowed {
        fn as_fd_borrowed(&self) -> BorrowedFd<'_>;
    }
    impl<T: std::os::fd::AsFd> Borrowed for T {
        fn as_fd_borrowed(&self) -> BorrowedFd<'_> {
            self.as_fd()
        }
    }
}
