//! Byte moves inside one buffer.

use core::ops::Range;

/// Bytes copied per step by [`shift_down`].
const STEP: usize = 64;

/// Moves `buf[from]` down to start at `to` (`to <= from.start`), like
/// `buf.copy_within(from, to)`.
///
/// `copy_within` may overlap, so it links `memmove`, which on Cortex-M is about 1.6 KB of
/// code the rest of a firmware rarely needs. Every move in this crate goes towards the
/// start of a buffer, so it can be done as a series of non-overlapping copies through a
/// small stack buffer, which only needs `memcpy`: each step reads its bytes before it
/// writes, and it only writes below the bytes later steps read.
///
/// Out-of-range arguments are clamped to the buffer rather than panicking; callers never
/// pass them.
pub(crate) fn shift_down(buf: &mut [u8], from: Range<usize>, to: usize) {
    let end = from.end.min(buf.len());
    let mut src = from.start.min(end);
    let mut dst = to.min(src);
    if dst == src {
        return;
    }
    let mut tmp = [0u8; STEP];
    while src < end {
        let n = (end - src).min(STEP);
        // In range (`n <= STEP`, `dst < src`, `src + n <= end <= buf.len()`): `get`
        // spares the panic paths.
        let (Some(from), Some(step)) = (buf.get(src..src + n), tmp.get_mut(..n)) else {
            return;
        };
        step.copy_from_slice(from);
        let Some(to) = buf.get_mut(dst..dst + n) else {
            return;
        };
        to.copy_from_slice(step);
        src += n;
        dst += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same result as `copy_within` for every downward move.
        #[test]
        fn matches_copy_within(len in 0usize..300, a in 0usize..300, b in 0usize..300, c in 0usize..300) {
            let mut points = [a % (len + 1), b % (len + 1), c % (len + 1)];
            points.sort_unstable();
            let [to, start, end] = points;
            let original: std::vec::Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let mut expected = original.clone();
            expected.copy_within(start..end, to);
            let mut got = original;
            shift_down(&mut got, start..end, to);
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn bad_ranges_are_clamped_not_panics() {
        let mut buf = [1u8, 2, 3, 4];
        shift_down(&mut buf, 2..10, 0);
        assert_eq!(buf, [3, 4, 3, 4]);
        shift_down(&mut buf, 9..12, 1);
        assert_eq!(buf, [3, 4, 3, 4]);
        // An upward move is not a shift down: nothing happens.
        shift_down(&mut buf, 0..2, 3);
        assert_eq!(buf, [3, 4, 3, 4]);
    }
}
