//! Identity codes of credit subjects: the resident identity number of a
//! natural person (公民身份号码, GB 11643-1999), and the rule that picks the
//! check for a subject's code by its kind.
//!
//! A resident ID has 17 digits and a check character: the weighted sum of
//! the digits (weights 2^(18-i) mod 11) taken mod 11 indexes `10X98765432`.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use super::uscc::{Uscc, UsccError};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Errors of a resident identity number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResidentIdError {
    /// Not 17 digits followed by a digit or X.
    #[error("身份证号码应为 17 位数字加 1 位数字或 X")]
    Shape,
    /// The check character does not match.
    #[error("身份证号码校验位不符：应为 {expected}，实为 {found}")]
    CheckDigit { expected: char, found: char },
}

impl ResidentIdError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Shape => "id_shape",
            Self::CheckDigit { .. } => "id_check_digit",
        }
    }
}

/// A shape-valid 18-character resident identity number (upper-case X).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ResidentId(String);

impl ResidentId {
    /// Strict parse: shape and check character.
    pub fn parse(s: &str) -> Result<ResidentId, ResidentIdError> {
        match Self::parse_lenient(s)? {
            (_, Some(w)) => Err(w),
            (id, None) => Ok(id),
        }
    }

    /// Shape errors are `Err`; a failed check character comes back as a
    /// warning beside the value (an administrator may accept it).
    pub fn parse_lenient(s: &str) -> Result<(ResidentId, Option<ResidentIdError>), ResidentIdError> {
        let chars: Vec<char> = s.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        if chars.len() != 18 || !chars[..17].iter().all(|c| c.is_ascii_digit()) {
            return Err(ResidentIdError::Shape);
        }
        let found = chars[17];
        if !(found.is_ascii_digit() || found == 'X') {
            return Err(ResidentIdError::Shape);
        }
        let sum: u32 = chars[..17].iter().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
        let expected = CHECK[(sum % 11) as usize];
        let warning = (expected != found).then_some(ResidentIdError::CheckDigit { expected, found });
        Ok((ResidentId(chars.into_iter().collect()), warning))
    }

    /// True when the text has the resident-ID shape of 17 digits first (what
    /// tells a natural person's ID apart from a USCC).
    pub fn looks_like(s: &str) -> bool {
        let chars: Vec<char> = s.trim().chars().collect();
        chars.len() == 18 && chars[..17].iter().all(|c| c.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a subject's code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubjectCodeError {
    #[error(transparent)]
    Uscc(#[from] UsccError),
    #[error(transparent)]
    ResidentId(#[from] ResidentIdError),
}

impl SubjectCodeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Uscc(e) => e.code(),
            Self::ResidentId(e) => e.code(),
        }
    }

    /// A failed check character, which an administrator may override.
    pub fn is_check_failure(&self) -> bool {
        matches!(self, Self::Uscc(UsccError::CheckDigit { .. }) | Self::ResidentId(ResidentIdError::CheckDigit { .. }))
    }
}

/// A subject's code, checked by the subject's kind: a natural person is
/// registered by a resident ID when the code has that shape, every other
/// subject (and a natural person with a USCC) by a USCC. Returns the
/// normalised code and whether a failed check was overridden.
pub fn check_subject_code(
    natural_person: bool,
    raw: &str,
    override_check: bool,
) -> Result<(String, bool), SubjectCodeError> {
    let (code, warning): (String, Option<SubjectCodeError>) = if natural_person && ResidentId::looks_like(raw) {
        let (id, w) = ResidentId::parse_lenient(raw)?;
        (id.as_str().to_string(), w.map(Into::into))
    } else {
        let (u, w) = Uscc::parse_lenient(raw)?;
        (u.as_str().to_string(), w.map(Into::into))
    };
    match warning {
        None => Ok((code, false)),
        Some(_) if override_check => Ok((code, true)),
        Some(w) => Err(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_id_check_character() {
        // GB 11643 worked example: 11010519491231002X.
        assert!(ResidentId::parse("11010519491231002X").is_ok());
        assert!(ResidentId::parse("11010519491231002x").is_ok());
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(ResidentIdError::CheckDigit { expected: 'X', found: '1' })
        );
        assert_eq!(ResidentId::parse("1101051949123100"), Err(ResidentIdError::Shape));
        assert_eq!(ResidentId::parse("11010519491231002Y"), Err(ResidentIdError::Shape));
    }

    #[test]
    fn a_chinese_character_is_a_shape_error_not_a_panic() {
        assert!(ResidentId::looks_like("11010519491231002号"));
        assert_eq!(ResidentId::parse("11010519491231002号"), Err(ResidentIdError::Shape));
        let e = check_subject_code(true, "11010519491231002号", true).unwrap_err();
        assert_eq!(e.code(), "id_shape");
        // Multi-byte text of 18 bytes but fewer characters is not a resident ID.
        assert!(!ResidentId::looks_like("1101051949123号"));
    }

    #[test]
    fn subject_code_by_kind() {
        assert_eq!(
            check_subject_code(true, "11010519491231002x", false).unwrap(),
            ("11010519491231002X".into(), false)
        );
        assert_eq!(check_subject_code(true, "110105194912310021", true).unwrap(), ("110105194912310021".into(), true));
        assert_eq!(check_subject_code(true, "110105194912310021", false).unwrap_err().code(), "id_check_digit");
        // A legal person's code is a USCC whatever its shape.
        assert_eq!(check_subject_code(false, "110105194912310021", false).unwrap_err().code(), "uscc_check_digit");
        assert_eq!(
            check_subject_code(false, "91350100m000100y43", false).unwrap(),
            ("91350100M000100Y43".into(), false)
        );
    }
}
