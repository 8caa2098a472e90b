//! What the process sets up for itself once, at start, before its threads run: room for the
//! file descriptors that a burst of connections needs.
//!
//! The kernel keeps a process's descriptors in a table that grows by doubling when a new
//! descriptor does not fit. In a process with several threads, each growth waits for an RCU
//! grace period, milliseconds to tens of milliseconds, and the thread opening the socket (a
//! runtime worker, with every task queued on it) stalls that long; the first burst of
//! connections after start (replies to many chats at once, the HTTP clients they accept) grows
//! the table several times. [`prepare`] grows it once, while the process has one thread, to
//! [`FD_TABLE`] descriptors (or the soft limit on open files, if that is lower), and raises the
//! soft limit to the hard one (at most [`MAX_OPEN_FILES`]) so that a burst is not refused with
//! "too many open files".

use std::os::fd::AsRawFd;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// How many descriptors the table holds from the start.
pub const FD_TABLE: u64 = 4096;
/// The highest soft limit on open files that [`prepare`] sets.
pub const MAX_OPEN_FILES: u64 = 65_536;

/// What [`prepare`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// The soft limit on open files afterwards (`None`: unlimited).
    pub open_files: Option<u64>,
    /// How many descriptors the table was grown to hold.
    pub fd_table: u64,
}

/// Raises the soft limit on open files and grows the descriptor table; see the module
/// documentation. Call it first thing in `main`. Nothing here is fatal: a step the system
/// refuses is left out.
#[must_use]
pub fn prepare() -> Prepared {
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit
        .maximum
        .map_or(MAX_OPEN_FILES, |m| m.min(MAX_OPEN_FILES));
    let open_files = match limit.current {
        Some(current) if current < wanted => {
            let raised = Rlimit {
                current: Some(wanted),
                maximum: limit.maximum,
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => Some(wanted),
                Err(_) => Some(current),
            }
        }
        other => other,
    };
    let fd_table = open_files.map_or(FD_TABLE, |n| n.min(FD_TABLE));
    Prepared {
        open_files,
        fd_table: grow_fd_table(fd_table),
    }
}

/// Makes the descriptor table hold `size` descriptors by duplicating one descriptor to the
/// number `size - 1` and closing it again; the table never shrinks. Returns the size reached.
fn grow_fd_table(size: u64) -> u64 {
    let Ok(highest) = i32::try_from(size.saturating_sub(1)) else {
        return 0;
    };
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return 0;
    };
    if null.as_raw_fd() >= highest {
        return size;
    }
    match rustix::io::fcntl_dupfd_cloexec(&null, highest) {
        Ok(duplicate) => {
            let reached = duplicate.as_raw_fd();
            drop(duplicate);
            u64::try_from(reached).map_or(0, |n| n + 1)
        }
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's size as the kernel reports it (`FDSize` in `/proc/self/status`).
    fn table_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("FDSize:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    }

    #[test]
    fn the_table_and_the_limit_make_room_for_a_burst() {
        let prepared = prepare();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, prepared.open_files);
        if let (Some(current), Some(maximum)) = (limit.current, limit.maximum) {
            assert!(current >= maximum.min(MAX_OPEN_FILES));
        }
        let wanted = prepared.open_files.map_or(FD_TABLE, |n| n.min(FD_TABLE));
        assert_eq!(prepared.fd_table, wanted);
        assert!(table_size() >= wanted, "FDSize {}", table_size());
        // The duplicate was closed again: the next descriptor is a low one.
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(u64::try_from(file.as_raw_fd()).unwrap() < wanted - 1);
    }
}
