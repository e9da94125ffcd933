//! Unified social credit code (统一社会信用代码, GB 32100-2015).
//!
//! A code is 18 characters long:
//! - positions 1-2: registration authority and entity type (charset),
//! - positions 3-8: administrative division code (digits),
//! - positions 9-17: organisation identifier (charset),
//! - position 18: check character (charset).
//!
//! The charset has 31 characters (`0-9` and upper-case letters without
//! `I`, `O`, `S`, `V`, `Z`), whose values are their indices `0..=30`.
//!
//! Some codes issued in practice fail the check-character test although they
//! are legitimate, so [`Uscc::parse_lenient`] accepts them and reports the
//! failed check as a warning that an administrator may override.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

/// The 31-character alphabet; a character's value is its index.
const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Total length of a code.
const LEN: usize = 18;

/// Modulus of the check-character computation.
const MODULUS: u32 = 31;

/// Weights `3^(i-1) mod 31` for positions `i = 1..=17`.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Value of a charset character, or `None` if it is not in the charset.
fn char_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    CHARSET.iter().position(|&b| b == byte).and_then(|i| u32::try_from(i).ok())
}

/// Whether the character at 0-based `index` has an acceptable shape.
fn shape_ok(index: usize, c: char) -> bool {
    if (2..8).contains(&index) { c.is_ascii_digit() } else { char_value(c).is_some() }
}

/// Check character for 17 already upper-cased charset characters.
fn compute_check_char(first17: &[char]) -> Option<char> {
    if first17.len() != WEIGHTS.len() {
        return None;
    }
    let mut sum = 0u32;
    for (&c, &w) in first17.iter().zip(WEIGHTS.iter()) {
        sum += char_value(c)? * w;
    }
    let check = (MODULUS - sum % MODULUS) % MODULUS;
    CHARSET.get(usize::try_from(check).ok()?).map(|&b| char::from(b))
}

/// Errors produced while parsing a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsccError {
    /// The input is empty or only whitespace.
    #[error("统一社会信用代码不能为空")]
    Empty,
    /// The input does not have 18 characters (the actual count is carried).
    #[error("统一社会信用代码应为 18 位，实为 {0} 位")]
    WrongLength(usize),
    /// A character is not allowed at its position (1-based).
    #[error("统一社会信用代码第 {position} 位字符“{ch}”不合法")]
    BadCharacter { position: usize, ch: char },
    /// The check character does not match the computed one.
    #[error("统一社会信用代码校验位不符：应为 {expected}，实为 {found}")]
    CheckDigit { expected: char, found: char },
}

impl UsccError {
    /// Stable machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "uscc_empty",
            Self::WrongLength(_) => "uscc_length",
            Self::BadCharacter { .. } => "uscc_character",
            Self::CheckDigit { .. } => "uscc_check_digit",
        }
    }
}

/// A shape-valid unified social credit code, normalised to upper case.
///
/// The check character is verified by [`Uscc::parse`] but not necessarily by
/// [`Uscc::parse_lenient`], which reports a mismatch as a warning instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Uscc(String);

impl Uscc {
    /// Strict parse: the shape and the check character must both be valid.
    pub fn parse(s: &str) -> Result<Uscc, UsccError> {
        match Self::parse_lenient(s)? {
            (_, Some(warning)) => Err(warning),
            (code, None) => Ok(code),
        }
    }

    /// Lenient parse: shape errors are returned as `Err`, while a failed
    /// check character yields the code together with a
    /// [`UsccError::CheckDigit`] warning.
    pub fn parse_lenient(s: &str) -> Result<(Uscc, Option<UsccError>), UsccError> {
        let chars: Vec<char> = s.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        if chars.is_empty() {
            return Err(UsccError::Empty);
        }
        if chars.len() != LEN {
            return Err(UsccError::WrongLength(chars.len()));
        }
        if let Some((index, &ch)) = chars.iter().enumerate().find(|&(i, &c)| !shape_ok(i, c)) {
            return Err(UsccError::BadCharacter { position: index + 1, ch });
        }
        let found = chars[LEN - 1];
        let warning = match compute_check_char(&chars[..LEN - 1]) {
            Some(expected) if expected != found => Some(UsccError::CheckDigit { expected, found }),
            _ => None,
        };
        Ok((Uscc(chars.into_iter().collect()), warning))
    }

    /// Check character for the first 17 characters of a code (case
    /// insensitive); `None` unless the input is exactly 17 charset
    /// characters.
    pub fn expected_check_char(first17: &str) -> Option<char> {
        let chars: Vec<char> = first17.chars().map(|c| c.to_ascii_uppercase()).collect();
        compute_check_char(&chars)
    }

    /// The normalised code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: [&str; 4] = ["91350100M000100Y43", "91330100799655058B", "9144030071526726XG", "91310110666007217T"];

    /// Legitimate codes that fail the check, with the computed check char.
    const FUJIAN: [(&str, char); 3] =
        [("91350100M0001TGQXM", '1'), ("91350211M0000XUF46", 'R'), ("91350203M0001FUE2P", 'J')];

    #[test]
    fn weights_are_powers_of_three_mod_31() {
        let mut w = 1u32;
        for &expected in &WEIGHTS {
            assert_eq!(w, expected);
            w = w * 3 % MODULUS;
        }
    }

    #[test]
    fn charset_excludes_confusable_letters() {
        assert_eq!(CHARSET.len(), 31);
        for c in ['I', 'O', 'S', 'V', 'Z'] {
            assert_eq!(char_value(c), None);
        }
        assert_eq!(char_value('0'), Some(0));
        assert_eq!(char_value('A'), Some(10));
        assert_eq!(char_value('Y'), Some(30));
    }

    #[test]
    fn valid_vectors_parse_strictly() {
        for s in VALID {
            let code = Uscc::parse(s).unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(code.to_string(), s);
            assert_eq!(code.as_ref(), s);
            let expected = s.chars().last();
            assert_eq!(Uscc::expected_check_char(&s[..17]), expected);
        }
    }

    #[test]
    fn valid_vectors_have_no_lenient_warning() {
        for s in VALID {
            let (code, warning) = Uscc::parse_lenient(s).unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(warning, None);
        }
    }

    #[test]
    fn lower_case_and_whitespace_are_normalised() {
        let code = Uscc::parse("  9144030071526726xg\n").unwrap();
        assert_eq!(code.as_str(), "9144030071526726XG");
        let code = Uscc::parse("91350100m000100y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(Uscc::expected_check_char("91330100799655058"), Some('B'));
        assert_eq!(Uscc::expected_check_char("91350100m000100y4"), Some('3'));
    }

    #[test]
    fn empty_input() {
        assert_eq!(Uscc::parse(""), Err(UsccError::Empty));
        assert_eq!(Uscc::parse("   "), Err(UsccError::Empty));
        assert_eq!(Uscc::parse_lenient("\t"), Err(UsccError::Empty));
        assert_eq!(UsccError::Empty.code(), "uscc_empty");
    }

    #[test]
    fn wrong_length() {
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(UsccError::WrongLength(17)));
        assert_eq!(Uscc::parse_lenient("91350100M000100Y433"), Err(UsccError::WrongLength(19)));
        // Length counts characters, not bytes.
        assert_eq!(Uscc::parse("统一社会信用代码"), Err(UsccError::WrongLength(8)));
        let err = Uscc::parse("123").unwrap_err();
        assert_eq!(err.code(), "uscc_length");
        assert_eq!(err.to_string(), "统一社会信用代码应为 18 位，实为 3 位");
    }

    #[test]
    fn bad_characters() {
        // 'I' and 'O' are not in the charset.
        assert_eq!(Uscc::parse("91350100MI00100Y43"), Err(UsccError::BadCharacter { position: 10, ch: 'I' }));
        assert_eq!(Uscc::parse_lenient("O1350100M000100Y43"), Err(UsccError::BadCharacter { position: 1, ch: 'O' }));
        // Lower-case letters are reported after upper-casing.
        assert_eq!(Uscc::parse("91350100M000100Y4s"), Err(UsccError::BadCharacter { position: 18, ch: 'S' }));
        // Positions 3-8 must be digits.
        let err = Uscc::parse("913A0100M000100Y43").unwrap_err();
        assert_eq!(err, UsccError::BadCharacter { position: 4, ch: 'A' });
        assert_eq!(err.code(), "uscc_character");
        assert_eq!(err.to_string(), "统一社会信用代码第 4 位字符“A”不合法");
        // Non-ASCII characters are rejected, not panicked on.
        assert_eq!(Uscc::parse("91350100M000100Y4Ａ"), Err(UsccError::BadCharacter { position: 18, ch: 'Ａ' }));
    }

    #[test]
    fn strict_rejects_fujian_codes() {
        for (s, expected) in FUJIAN {
            let found = s.chars().last().unwrap();
            let err = Uscc::parse(s).unwrap_err();
            assert_eq!(err, UsccError::CheckDigit { expected, found });
            assert_eq!(err.code(), "uscc_check_digit");
            assert_eq!(Uscc::expected_check_char(&s[..17]), Some(expected));
        }
        assert_eq!(
            Uscc::parse("91350100M0001TGQXM").unwrap_err().to_string(),
            "统一社会信用代码校验位不符：应为 1，实为 M"
        );
    }

    #[test]
    fn lenient_accepts_fujian_codes_with_warning() {
        for (s, expected) in FUJIAN {
            let found = s.chars().last().unwrap();
            let (code, warning) = Uscc::parse_lenient(&s.to_lowercase()).unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(warning, Some(UsccError::CheckDigit { expected, found }));
        }
    }

    #[test]
    fn expected_check_char_rejects_bad_input() {
        assert_eq!(Uscc::expected_check_char(""), None);
        assert_eq!(Uscc::expected_check_char("9135010"), None);
        assert_eq!(Uscc::expected_check_char("91350100M000100Y43"), None);
        assert_eq!(Uscc::expected_check_char("91350100MI00100Y4"), None);
    }

    #[test]
    fn implements_serialize() {
        fn assert_serialize<T: Serialize>(_: &T) {}
        assert_serialize(&Uscc::parse(VALID[0]).unwrap());
    }
}
