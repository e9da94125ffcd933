//! The one embedded typeface: a pre-subsetted Noto Serif SC (see `fonts/README.md`).
//!
//! The file holds every GBK hanzi and the punctuation an office letter needs; krilla
//! subsets it again per document, so a PDF only carries the glyphs it uses.

use std::sync::LazyLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// The font file committed under `documents/fonts/`.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../fonts/NotoSerifSC-URO.otf");

/// Top of the ideographic em box above the baseline, in em (Adobe CJK fonts
/// put the em box from -120 to 880 units of 1000).
pub(crate) const IDEO_TOP: f32 = 0.88;

/// What the layout needs from the font: which characters it has and how wide
/// they are.
pub(crate) struct Face {
    font: FontRef<'static>,
    units_per_em: f32,
}

/// One character mapped to its glyph, with its advance in em.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Glyph {
    pub(crate) ch: char,
    pub(crate) id: u32,
    pub(crate) advance: f32,
}

static FACE: LazyLock<Face> = LazyLock::new(|| {
    // The bytes are compiled in; failing to parse them is a build defect, not
    // an input error.
    let font = FontRef::new(FONT_BYTES).expect("the embedded font parses");
    let units_per_em = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em);
    Face { font, units_per_em }
});

impl Face {
    pub(crate) fn get() -> &'static Face {
        &FACE
    }

    /// The glyph for `ch`, or `None` when the font has none (or only .notdef).
    pub(crate) fn glyph(&self, ch: char) -> Option<Glyph> {
        let id = self.font.charmap().map(ch)?;
        if id.to_u32() == 0 {
            return None;
        }
        let advance =
            self.font.glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(id)? / self.units_per_em;
        Some(Glyph { ch, id: id.to_u32(), advance })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_gb2312_samples_and_punctuation() {
        let face = Face::get();
        for ch in "信用修复决定书济高〔〕（）《》，。、；：！？“”‘’—…·　ＡＢ１２ABCxyz019-/:".chars()
        {
            assert!(face.glyph(ch).is_some(), "missing {ch:?}");
        }
        let ideo = face.glyph('信').unwrap();
        assert!((ideo.advance - 1.0).abs() < 1e-3, "ideographs are one em wide, got {}", ideo.advance);
        let comma = face.glyph('，').unwrap();
        assert!((comma.advance - 1.0).abs() < 1e-3);
        assert!(face.glyph('a').unwrap().advance < 0.7);
    }

    #[test]
    fn lacks_characters_outside_the_subset() {
        let face = Face::get();
        // U+20BB7 (CJK Extension B) and an emoji are not in the subset.
        assert!(face.glyph('𠮷').is_none());
        assert!(face.glyph('😀').is_none());
    }
}
