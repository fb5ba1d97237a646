//! Blocks of a record file mapped from the page cache instead of copied out of it.
//!
//! Reading observations.csv with `read` copies every byte from the page cache
//! into a buffer before a worker looks at it: at 100,000 runs (3.9 GB) that copy
//! was the splitter thread's whole cost and a sixth of the CPU time. A worker
//! parses a mapped block in place and unmaps it when done, so only the blocks in
//! flight are mapped (peak memory stays that of a few blocks).
//!
//! This is the only `unsafe` of the crate: std has no memory mapping. The map
//! is private and read-only; as with every mapped reader, a file truncated by
//! another program while it is read ends the process with SIGBUS (the registry
//! files are not expected to change under `ecmo features`).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// A read-only private mapping of `len` bytes of a file.
pub(super) struct MappedBlock {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; moving it to another thread is
// moving a pointer to immutable memory.
unsafe impl Send for MappedBlock {}

#[cfg(target_os = "linux")]
const POPULATE: libc::c_int = libc::MAP_POPULATE;
#[cfg(not(target_os = "linux"))]
const POPULATE: libc::c_int = 0;

impl MappedBlock {
    /// Map `len` bytes of `file` from `offset` (a multiple of [`page_size`]).
    pub fn new(file: &File, offset: u64, len: usize) -> io::Result<MappedBlock> {
        if len == 0 {
            return Ok(MappedBlock { ptr: std::ptr::null_mut(), len: 0 });
        }
        let offset = libc::off_t::try_from(offset).map_err(|_| io::Error::other("file offset out of range"))?;
        // SAFETY: a fresh mapping (address chosen by the kernel) of a file descriptor that is open for
        // reading; the result is checked before use. Populating it maps the cached pages in one call
        // rather than one page fault per 64 KiB.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | POPULATE,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(MappedBlock { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` is a live read-only mapping of `len` bytes, unmapped only on drop.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

impl Drop for MappedBlock {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` are exactly what mmap returned; no slice of it outlives `self`.
            unsafe {
                libc::munmap(self.ptr, self.len);
            }
        }
    }
}

/// The granularity of mapping offsets.
pub(super) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).ok().filter(|&n| n > 0 && n.is_power_of_two()).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_block_holds_the_bytes_of_the_file_at_its_offset() {
        let page = page_size();
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..3 * page as usize + 100).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let m = MappedBlock::new(&f, page, 2 * page as usize + 50).unwrap();
        assert_eq!(m.bytes(), &data[page as usize..3 * page as usize + 50]);
        assert!(MappedBlock::new(&f, 0, 0).unwrap().bytes().is_empty());
        // Not a page boundary: refused by the kernel, reported as an error.
        assert!(MappedBlock::new(&f, 1, 10).is_err());
    }
}
