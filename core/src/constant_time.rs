//! Constant-time comparison of secrets-derived bytes (signatures, keys).

use subtle::ConstantTimeEq;

/// Whether `a == b`, in time that depends only on the lengths: the bytes are folded eight at a
/// time into one difference word without branching, and only that word goes through `subtle`'s
/// optimisation barrier (one barrier per comparison instead of one per byte).
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u64;
    let (a_words, a_tail) = a.split_at(a.len() - a.len() % 8);
    let (b_words, b_tail) = b.split_at(a_words.len());
    for (x, y) in a_words.chunks_exact(8).zip(b_words.chunks_exact(8)) {
        let word = |c: &[u8]| u64::from_ne_bytes(c.try_into().unwrap_or_default());
        diff |= word(x) ^ word(y);
    }
    for (x, y) in a_tail.iter().zip(b_tail) {
        diff |= u64::from(x ^ y);
    }
    diff.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::eq;

    #[test]
    fn compares_every_byte_and_the_length() {
        let a: Vec<u8> = (0..=70).collect();
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 71] {
            assert!(eq(&a[..n], &a[..n]));
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 0x80;
                assert!(!eq(&a[..n], &b), "byte {i} of {n}");
            }
        }
        assert!(!eq(b"abc", b"ab"));
    }
}
