//! Body hashing: in one call, incrementally, or from a reader in constant memory.

use std::io::{self, Read};

use sha2::{Digest, Sha256};
use sm3::Sm3;

use crate::algorithm::{Algorithm, HashFunction};
use crate::encoding::hex;
use crate::error::{Error, ErrorKind};

/// An incremental body hasher for an algorithm's hash function. Feed it chunks as they arrive
/// (it implements [`io::Write`]), then pass [`finalize_hex`](Self::finalize_hex) as
/// [`SignableBody::Precomputed`](crate::SignableBody::Precomputed).
#[derive(Clone)]
pub struct PayloadHasher(Inner);

#[derive(Clone)]
enum Inner {
    Sha256(Sha256),
    Sm3(Sm3),
}

impl PayloadHasher {
    /// A hasher for `hash`.
    pub fn new(hash: HashFunction) -> Self {
        Self(match hash {
            HashFunction::Sha256 => Inner::Sha256(Sha256::new()),
            HashFunction::Sm3 => Inner::Sm3(Sm3::new()),
        })
    }

    /// A hasher for `algorithm`'s hash function.
    pub fn for_algorithm(algorithm: Algorithm) -> Self {
        Self::new(algorithm.hash_function())
    }

    /// Adds a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        match &mut self.0 {
            Inner::Sha256(h) => h.update(chunk),
            Inner::Sm3(h) => h.update(chunk),
        }
    }

    /// The lower-case hex hash of everything added.
    pub fn finalize_hex(self) -> String {
        match self.0 {
            Inner::Sha256(h) => hex(&h.finalize()),
            Inner::Sm3(h) => hex(&h.finalize()),
        }
    }
}

impl io::Write for PayloadHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hashes everything `reader` yields, 64 KiB at a time, for `algorithm`.
///
/// # Errors
/// [`ErrorKind::BodyRead`] when the reader fails.
pub fn hash_reader(algorithm: Algorithm, mut reader: impl Read) -> Result<String, Error> {
    let mut hasher = PayloadHasher::for_algorithm(algorithm);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(hasher.finalize_hex()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Error::new(ErrorKind::BodyRead, format!("reading the body failed: {e}")));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_equals_one_shot() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for alg in [Algorithm::SdkHmacSha256, Algorithm::SdkHmacSm3] {
            let streamed = hash_reader(alg, &data[..]).unwrap();
            assert_eq!(streamed, alg.hash_function().hash_hex(&data));
        }
    }

    #[test]
    fn reader_errors_are_typed() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = hash_reader(Algorithm::SdkHmacSha256, Broken).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyRead);
    }
}
