//! FNV-1a, 64 bits: a small, stable hash for names that must be the same in every run
//! (cache file names, the cache key's fingerprints). Not for anything an attacker could
//! aim collisions at: every user of it compares the full key behind the hash (each
//! cache file carries its key), so a collision costs a miss, never a wrong answer.

use std::hash::Hasher;

/// The hash of some bytes.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash = Fnv64::default();
    hash.write(bytes);
    hash.finish()
}

/// FNV-1a, 64 bits, fed piece by piece (no string is built to hash it).
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
