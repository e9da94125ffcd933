//! Formal letters of the credit office (文书: 信用修复决定书, 异议处理结果告知书,
//! 不予受理通知书, 补正通知书, 撤销信用修复决定书) rendered to PDF.
//!
//! - **Deterministic**: the same [`Letter`] always gives the same bytes (no
//!   creation date; the document ID is a hash of the content), so a caller may
//!   store a PDF under its SHA-256.
//! - **Self-contained**: the text is set in Noto Serif SC, compiled into the
//!   crate (the CJK Unified Ideographs block and punctuation, see `fonts/README.md`) and subsetted into
//!   every PDF with a ToUnicode map, so it shows and extracts anywhere.
//! - **No boxes**: a character the font lacks is refused with
//!   [`DocumentError::MissingGlyphs`], naming it and where it is.
//!
//! The layout follows GB/T 9704-2012 (党政机关公文格式): A4, a 156 × 225 mm
//! type area of 22 lines of 28 characters, page numbers "— 1 —".
//!
//! ```no_run
//! let letter = credit_documents::Letter {
//!     title: "信用修复决定书".into(),
//!     number: "济高信修〔2026〕第0001号".into(),
//!     addressee: Some("某某有限公司：".into()),
//!     paragraphs: vec!["你单位提出的信用修复申请，经审查，符合修复条件，决定予以修复。".into()],
//!     issuer: "济南高新区信用办公室".into(),
//!     date: "2026年12月2日".into(),
//!     verification: "核验：案件编号 XF-2026-000123 · 校验码 3F9A2C71".into(),
//! };
//! let pdf: Vec<u8> = credit_documents::render(&letter)?;
//! # Ok::<(), credit_documents::DocumentError>(())
//! ```

mod breaking;
mod font;
mod layout;
mod pdf;

use std::fmt;

use font::{Face, Glyph};
use layout::Shaped;

/// One letter. Empty strings (and an empty or `None` addressee) are left out
/// without leaving a gap.
///
/// Line breaks (`\n`) start a new line in the title and the issuer and a new
/// paragraph in a paragraph; elsewhere they count as spaces. Runs of spaces
/// become one, and spaces or ideographic spaces (U+3000) at the start of a
/// paragraph are dropped, since the indent is added here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Letter {
    /// 标题, e.g. "信用修复决定书": centred, 22 pt.
    pub title: String,
    /// 文号, e.g. "济高信修〔2026〕第0001号": centred under the title.
    pub number: String,
    /// 主送, e.g. "某某有限公司：": flush left above the body.
    pub addressee: Option<String>,
    /// Body paragraphs, each indented two characters.
    pub paragraphs: Vec<String>,
    /// 发文机关署名: lower right after the body.
    pub issuer: String,
    /// 成文日期, e.g. "2026年12月2日": under the issuer.
    pub date: String,
    /// A small line at the foot of every page, e.g. the case number and a
    /// check code for the verification page.
    pub verification: String,
}

/// Where in a [`Letter`] a character is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Number,
    Addressee,
    /// The paragraph at this index of [`Letter::paragraphs`].
    Paragraph(usize),
    Issuer,
    Date,
    Verification,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Title => f.write_str("the title"),
            Field::Number => f.write_str("the number"),
            Field::Addressee => f.write_str("the addressee"),
            Field::Paragraph(i) => write!(f, "paragraph {}", i + 1),
            Field::Issuer => f.write_str("the issuer"),
            Field::Date => f.write_str("the date"),
            Field::Verification => f.write_str("the verification line"),
        }
    }
}

/// A character the embedded font cannot show, and the first field it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingGlyph {
    pub ch: char,
    pub field: Field,
}

impl fmt::Display for MissingGlyph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ch.is_control() {
            write!(f, "U+{:04X} in {}", u32::from(self.ch), self.field)
        } else {
            write!(f, "'{}' (U+{:04X}) in {}", self.ch, u32::from(self.ch), self.field)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The letter has characters the embedded font lacks (each listed once,
    /// in order of appearance). Nothing is rendered: an office must not issue
    /// a letter with an empty box in it.
    #[error("the font has no glyph for {}", list(.0))]
    MissingGlyphs(Vec<MissingGlyph>),
    /// The PDF library failed (not expected with the embedded font).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

fn list(missing: &[MissingGlyph]) -> String {
    missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Render `letter` to the bytes of a PDF (A4, one or more pages).
pub fn render(letter: &Letter) -> Result<Vec<u8>, DocumentError> {
    let shaped = shape(letter)?;
    let pages = layout::layout(&shaped);
    pdf::write(&pages, letter.title.trim())
}

/// Clean the letter's text and map it to glyphs, or list what the font lacks.
fn shape(letter: &Letter) -> Result<Shaped, DocumentError> {
    let mut shaper = Shaper { face: Face::get(), missing: Vec::new() };
    let shaped = Shaped {
        title: lines(&letter.title).map(|l| shaper.glyphs(&l, Field::Title)).collect(),
        number: shaper.glyphs(&clean(&letter.number), Field::Number),
        addressee: shaper.glyphs(&clean(letter.addressee.as_deref().unwrap_or("")), Field::Addressee),
        paragraphs: letter
            .paragraphs
            .iter()
            .enumerate()
            .flat_map(|(i, p)| lines(p).map(move |l| (i, l)).collect::<Vec<_>>())
            .map(|(i, p)| shaper.glyphs(p.trim_start_matches([' ', '\u{3000}']), Field::Paragraph(i)))
            .filter(|p| !p.is_empty())
            .collect(),
        issuer: lines(&letter.issuer).map(|l| shaper.glyphs(&l, Field::Issuer)).collect(),
        date: shaper.glyphs(&clean(&letter.date), Field::Date),
        verification: shaper.glyphs(&clean(&letter.verification), Field::Verification),
    };
    if shaper.missing.is_empty() { Ok(shaped) } else { Err(DocumentError::MissingGlyphs(shaper.missing)) }
}

struct Shaper {
    face: &'static Face,
    missing: Vec<MissingGlyph>,
}

impl Shaper {
    fn glyphs(&mut self, text: &str, field: Field) -> Vec<Glyph> {
        let mut glyphs = Vec::with_capacity(text.len());
        for ch in text.chars() {
            match self.face.glyph(ch) {
                Some(g) => glyphs.push(g),
                None if self.missing.iter().any(|m| m.ch == ch) => {}
                None => self.missing.push(MissingGlyph { ch, field }),
            }
        }
        glyphs
    }
}

/// The non-empty lines of `text`, each cleaned.
fn lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split('\n').map(clean).filter(|l| !l.is_empty())
}

/// Drop characters that draw nothing (zero-width spaces and joiners, byte
/// order marks), turn other whitespace but U+3000 into a space, collapse runs
/// of spaces and trim them at both ends.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => {}
            '\u{3000}' => out.push(ch),
            c if c.is_whitespace() => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out.truncate(out.trim_end_matches(' ').len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_collapses_whitespace_and_drops_invisible_characters() {
        assert_eq!(clean("  a \t b\u{200B}c\r\n "), "a bc");
        assert_eq!(clean("\u{3000}\u{3000}正文"), "\u{3000}\u{3000}正文");
        assert_eq!(clean(""), "");
    }

    #[test]
    fn line_breaks_split_titles_and_paragraphs() {
        let letter = Letter {
            title: "关于某某的\n信用修复决定书".into(),
            paragraphs: vec!["\u{3000}\u{3000}第一段。\n\n第二段。".into(), "   ".into()],
            ..Letter::default()
        };
        let shaped = shape(&letter).unwrap();
        assert_eq!(shaped.title.len(), 2);
        let paragraphs: Vec<String> = shaped.paragraphs.iter().map(|p| p.iter().map(|g| g.ch).collect()).collect();
        assert_eq!(paragraphs, ["第一段。", "第二段。"]);
    }

    #[test]
    fn missing_glyphs_are_named_once_with_their_field() {
        let letter = Letter {
            title: "决定书".into(),
            addressee: Some("𠮷野家有限公司".into()),
            paragraphs: vec!["正文".into(), "又见𠮷字😀".into()],
            ..Letter::default()
        };
        let err = shape(&letter).unwrap_err();
        assert_eq!(
            err,
            DocumentError::MissingGlyphs(vec![
                MissingGlyph { ch: '𠮷', field: Field::Addressee },
                MissingGlyph { ch: '😀', field: Field::Paragraph(1) },
            ])
        );
        assert_eq!(
            err.to_string(),
            "the font has no glyph for '𠮷' (U+20BB7) in the addressee, '😀' (U+1F600) in paragraph 2"
        );
    }
}
