//! Whether a JSON number's text denotes a given double, decided exactly on decimal digits,
//! without parsing to floating point: what a metadata number filter means (`"line": 12`
//! matches 12.0; a number matches the double it rounds to), for `small-code` builds, where
//! the standard library's float parser was 17 KiB of a Cortex-M4 image. Slower (a big-integer
//! expansion of the two rounding boundaries per comparison), so other builds parse; the
//! tests hold the two to the same answers.
//!
//! A decimal value rounds to the finite double `d = m x 2^e` when it lies between the
//! midpoints to `d`'s neighbours, a midpoint itself going to the even mantissa. Each
//! midpoint is `k x 2^j` with `k` odd and below 2^55, whose decimal expansion is finite:
//! `k << j` for `j >= 0`, or the digits of `k x 5^-j` shifted `-j` places for `j < 0`.

// The big integer keeps words and the low halves of products by design.
#![allow(clippy::cast_possible_truncation)]

use crate::json::{decimal_of, rounds_to_a_finite_double, significant_digits};
use core::cmp::Ordering;

/// Words of the big integer: `k x 5^1076` (the smallest midpoint's expansion) is below
/// 2^2553.
const WORDS: usize = 81;
/// Four-digit chunks of its decimal expansion (769 digits at most). Four, so that a chunk
/// divides out of the big integer in 32-bit steps: nine-digit chunks needed a 64-bit
/// division, whose library routine was 0.9 KiB of a Cortex-M4 image.
const CHUNKS: usize = 193;
const CHUNK_DIGITS: u32 = 4;
const CHUNK: u16 = 10_000;

/// Whether `raw` (a JSON value's text) is a number that rounds to `number` (NaN: never).
pub(crate) fn denotes(raw: &[u8], number: f64) -> bool {
    let is_number = raw.first().is_some_and(|&first| first == b'-' || first.is_ascii_digit());
    if !is_number || number.is_nan() {
        return false;
    }
    let negative = raw.first() == Some(&b'-');
    let (mantissa, magnitude) = decimal_of(raw);
    let zero = significant_digits(mantissa).next().is_none();
    if number.is_infinite() {
        return !zero && negative == number.is_sign_negative() && !rounds_to_a_finite_double(raw);
    }
    if zero || number == 0.0 {
        // Either sign of zero equals the other; a value rounds to zero up to 2^-1075 (the
        // midpoint to the least subnormal goes to zero's even mantissa).
        return number == 0.0
            && (zero || compare(mantissa, magnitude, 1, -1075) != Ordering::Greater);
    }
    if negative != number.is_sign_negative() {
        return false;
    }
    let bits = number.to_bits();
    let (exponent_bits, fraction) = ((bits >> 52) & 0x7FF, bits & ((1 << 52) - 1));
    let (m, e) = if exponent_bits == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, exponent_bits as i64 - 1075)
    };
    // A power of two above the least normal has its lower neighbour twice as near.
    let (lower_k, lower_j) =
        if fraction == 0 && exponent_bits > 1 { (4 * m - 1, e - 2) } else { (2 * m - 1, e - 1) };
    let even = m % 2 == 0;
    let upper = compare(mantissa, magnitude, 2 * m + 1, e - 1);
    let lower = compare(mantissa, magnitude, lower_k, lower_j);
    (upper == Ordering::Less || (upper == Ordering::Equal && even))
        && (lower == Ordering::Greater || (lower == Ordering::Equal && even))
}

/// The decimal value `0.digits x 10^magnitude` (non-zero) against `k x 2^j` (`k` odd).
fn compare(mantissa: &[u8], magnitude: i64, k: u64, j: i64) -> Ordering {
    let mut chunks = [0u16; CHUNKS];
    let (count, shift) = expand(k, j, &mut chunks);
    let top = chunks[..count].last().copied().unwrap_or(0);
    let top_digits = (1..=CHUNK_DIGITS).find(|&n| top < 10u16.pow(n)).unwrap_or(CHUNK_DIGITS);
    let bound_magnitude =
        i64::from(top_digits) + i64::from(CHUNK_DIGITS) * (count as i64 - 1) + shift;
    match magnitude.cmp(&bound_magnitude) {
        Ordering::Equal => {}
        other => return other,
    }
    let mut bound = digits_of(&chunks[..count], top_digits);
    let mut value = significant_digits(mantissa).map(|&digit| digit - b'0');
    loop {
        match (value.next(), bound.next()) {
            (Some(a), Some(b)) if a != b => return a.cmp(&b),
            (Some(_), Some(_)) => {}
            (None, None) => return Ordering::Equal,
            // The rest of the longer side decides: any non-zero digit is more.
            (Some(a), None) => {
                return if a != 0 || value.any(|digit| digit != 0) {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            }
            (None, Some(b)) => {
                return if b != 0 || bound.any(|digit| digit != 0) {
                    Ordering::Less
                } else {
                    Ordering::Equal
                }
            }
        }
    }
}

/// The decimal expansion of `k x 2^j` as four-digit chunks (least significant first) in
/// `chunks`, times 10^shift: returns (chunks used, shift).
fn expand(k: u64, j: i64, chunks: &mut [u16; CHUNKS]) -> (usize, i64) {
    let mut big = Big::from(k);
    let shift = if j >= 0 {
        big.shift_left(j as usize);
        0
    } else {
        for _ in 0..-j {
            big.multiply(5);
        }
        j
    };
    let mut count = 0;
    while !big.is_zero() && count < CHUNKS {
        chunks[count] = big.divide(CHUNK);
        count += 1;
    }
    (count, shift)
}

/// The decimal digits of four-digit chunks (least significant first), most significant
/// first; the top chunk has `top_digits` of them.
fn digits_of(chunks: &[u16], top_digits: u32) -> impl Iterator<Item = u8> + '_ {
    chunks.iter().enumerate().rev().flat_map(move |(index, &chunk)| {
        let width = if index + 1 == chunks.len() { top_digits } else { CHUNK_DIGITS };
        (0..width).rev().map(move |place| ((chunk / 10u16.pow(place)) % 10) as u8)
    })
}

/// A non-negative integer below 2^(32 x WORDS), little-endian words.
struct Big {
    words: [u32; WORDS],
    len: usize,
}

impl Big {
    fn from(value: u64) -> Big {
        let mut big = Big { words: [0; WORDS], len: 2 };
        big.words[0] = value as u32;
        big.words[1] = (value >> 32) as u32;
        big.trim();
        big
    }

    fn trim(&mut self) {
        while self.len > 0 && self.words[self.len - 1] == 0 {
            self.len -= 1;
        }
    }

    fn is_zero(&self) -> bool {
        self.len == 0
    }

    /// Multiplies by `factor` (the boundaries stay below 2^2553, so within the words).
    fn multiply(&mut self, factor: u32) {
        let mut carry = 0u64;
        for word in &mut self.words[..self.len] {
            let product = u64::from(*word) * u64::from(factor) + carry;
            *word = product as u32;
            carry = product >> 32;
        }
        if carry != 0 && self.len < WORDS {
            self.words[self.len] = carry as u32;
            self.len += 1;
        }
    }

    fn shift_left(&mut self, bits: usize) {
        let (words, bits) = (bits / 32, bits % 32);
        let len = (self.len + words + 1).min(WORDS);
        for index in (0..len).rev() {
            let source = index.checked_sub(words);
            let high = source.and_then(|at| self.words.get(at)).copied().unwrap_or(0);
            let low = source
                .and_then(|at| at.checked_sub(1))
                .and_then(|at| self.words.get(at))
                .copied()
                .unwrap_or(0);
            self.words[index] = if bits == 0 { high } else { high << bits | low >> (32 - bits) };
        }
        self.len = len;
        self.trim();
    }

    /// Divides by `divisor`, returning the remainder: a word's two halves at a time, so
    /// every step divides 32 bits (the remainder is below `divisor`, so below 2^16).
    fn divide(&mut self, divisor: u16) -> u16 {
        let divisor = u32::from(divisor);
        let mut remainder = 0u32;
        for word in self.words[..self.len].iter_mut().rev() {
            let high = remainder << 16 | *word >> 16;
            let low = (high % divisor) << 16 | (*word & 0xFFFF);
            *word = ((high / divisor) << 16) | (low / divisor);
            remainder = low % divisor;
        }
        debug_assert!(remainder < divisor);
        self.trim();
        remainder as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    fn parses_to(raw: &str, number: f64) -> bool {
        raw.parse::<f64>().is_ok_and(|parsed| parsed == number)
    }

    /// The exact decimal expansion of the midpoint above `number` (positive, finite).
    fn midpoint_above(number: f64) -> String {
        let bits = number.to_bits();
        let (exponent_bits, fraction) = ((bits >> 52) & 0x7FF, bits & ((1 << 52) - 1));
        let (m, e) = if exponent_bits == 0 {
            (fraction, -1074i64)
        } else {
            (fraction | 1 << 52, exponent_bits as i64 - 1075)
        };
        let (k, j) = (2 * m + 1, e - 1);
        let mut chunks = [0u16; CHUNKS];
        let (count, shift) = expand(k, j, &mut chunks);
        let chunks = &chunks[..count];
        let mut digits = format!("{}", chunks.last().unwrap());
        for chunk in chunks.iter().rev().skip(1) {
            digits.push_str(&format!("{chunk:04}"));
        }
        format!("{digits}e{shift}")
    }

    /// The big integer's division in 16-bit halves equals 128-bit division, words with
    /// their top bits set included.
    #[test]
    fn dividing_in_halves_equals_wide_division() {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        for round in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = u128::from(state) << 64 | u128::from(state.rotate_left(round % 64));
            let divisor = [CHUNK, 1, 2, 9_999, u16::MAX][round as usize % 5];
            let mut big = Big { words: [0; WORDS], len: 4 };
            for (index, word) in big.words[..4].iter_mut().enumerate() {
                *word = (value >> (32 * index)) as u32;
            }
            big.trim();
            let remainder = big.divide(divisor);
            let quotient = big.words[..4]
                .iter()
                .enumerate()
                .fold(0u128, |sum, (index, &word)| sum | u128::from(word) << (32 * index));
            let expected = (value / u128::from(divisor), value % u128::from(divisor));
            assert_eq!((quotient, u128::from(remainder)), expected, "{value} / {divisor}");
        }
    }

    /// The exact comparison gives the standard parser's answer: for the shortest text of
    /// random doubles (normal, subnormal, huge, tiny) and that text nudged by one unit, for
    /// the exact midpoints above them and those nudged, for zeros, infinities and strings.
    #[test]
    fn exact_comparison_agrees_with_the_standard_parser() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut checked = 0;
        for round in 0..1_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bits = match round % 3 {
                0 => state,
                1 => state >> 12,                   // subnormals and tiny normals
                _ => state | 0x7FE0_0000_0000_0000, // near the top
            };
            let number = f64::from_bits(bits & !(1 << 63));
            if !number.is_finite() {
                continue;
            }
            let shortest = format!("{number:e}");
            let mut cases: Vec<String> = Vec::from([shortest.clone(), format!("-{shortest}")]);
            let (digits, exponent) = shortest.split_once('e').unwrap();
            let last = digits.chars().last().unwrap().to_digit(10).unwrap_or(0);
            let bumped = format!("{}{}", &digits[..digits.len() - 1], (last + 1) % 10);
            cases.push(format!("{bumped}e{exponent}"));
            let midpoint = midpoint_above(number);
            let (mid_digits, mid_exponent) = midpoint.split_once('e').unwrap();
            cases.push(midpoint.clone());
            cases.push(format!("{mid_digits}1e{}", mid_exponent.parse::<i64>().unwrap() - 1));
            let down = format!("{}e{mid_exponent}", &mid_digits[..mid_digits.len() - 1]);
            cases.push(down);
            for case in &cases {
                for target in [number, -number, f64::from_bits(bits.wrapping_add(1) & !(1 << 63))] {
                    assert_eq!(
                        denotes(case.as_bytes(), target),
                        parses_to(case, target),
                        "{case} vs {target:e}"
                    );
                    checked += 1;
                }
            }
        }
        let fixed = [
            "0",
            "-0",
            "0.0e5",
            "1e-400",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "4.9406564584124654e-324",
            "1e400",
            "-1e400",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "12",
            "12.0",
            "1.2e1",
            "120e-1",
            "0.1",
            "0.30000000000000004",
            "9007199254740993",
        ];
        let top = midpoint_above(f64::MAX);
        for case in fixed.iter().copied().chain([top.as_str()]) {
            for target in [
                0.0,
                -0.0,
                12.0,
                0.1,
                5e-324,
                f64::MAX,
                f64::INFINITY,
                f64::NEG_INFINITY,
                9007199254740992.0,
            ] {
                assert_eq!(
                    denotes(case.as_bytes(), target),
                    parses_to(case, target),
                    "{case} vs {target:e}"
                );
                checked += 1;
            }
        }
        for raw in ["\"12\"", "true", "", "{}", "[1]"] {
            assert!(!denotes(raw.as_bytes(), 12.0), "{raw}");
        }
        assert!(!denotes(b"12", f64::NAN));
        assert!(checked > 10_000, "{checked}");
    }
}
