//! Drawing laid-out pages with krilla.
//!
//! krilla writes no creation date unless given one and derives the document
//! ID from a hash of the content, so the bytes depend on the pages alone.

use krilla::color::luma;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};

use crate::DocumentError;
use crate::font::FONT_BYTES;
use crate::layout::{Line, PAGE_HEIGHT, PAGE_WIDTH, Page, Style};

/// Stroke width that thickens the title's strokes, as a share of its size.
const TITLE_EMBOLDEN: f32 = 0.025;
/// Grey level (0 black, 255 white) of the verification line.
const FOOTER_GREY: u8 = 64;

pub(crate) fn write(pages: &[Page], title: &str) -> Result<Vec<u8>, DocumentError> {
    let font = Font::new(FONT_BYTES.into(), 0).ok_or_else(|| DocumentError::Pdf("the font does not load".into()))?;
    let settings = SerializeSettings { enable_tagging: false, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    let mut metadata = Metadata::new().language("zh-CN".into()).creator("credit-documents".into());
    if !title.is_empty() {
        metadata = metadata.title(title.replace('\n', " "));
    }
    document.set_metadata(metadata);
    let page_settings =
        PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or_else(|| DocumentError::Pdf("bad page size".into()))?;
    for page in pages {
        let mut pdf_page = document.start_page_with(page_settings.clone());
        let mut surface = pdf_page.surface();
        for line in &page.lines {
            let (text, glyphs) = glyph_run(line);
            match line.style {
                Style::Title => {
                    surface.set_fill(Some(Fill::default()));
                    surface.set_stroke(Some(Stroke { width: TITLE_EMBOLDEN * line.size, ..Stroke::default() }));
                }
                Style::Plain => {
                    surface.set_fill(Some(Fill::default()));
                    surface.set_stroke(None);
                }
                Style::Footer => {
                    surface.set_fill(Some(Fill { paint: luma::Color::new(FOOTER_GREY).into(), ..Fill::default() }));
                    surface.set_stroke(None);
                }
            }
            surface.draw_glyphs(Point::from_xy(line.x, line.baseline), &glyphs, font.clone(), &text, line.size, false);
        }
        surface.finish();
        pdf_page.finish();
    }
    document.finish().map_err(|e| DocumentError::Pdf(format!("{e:?}")))
}

/// The line's text and its glyphs, each mapped to its character so that the
/// text can be extracted (and searched) in the PDF.
fn glyph_run(line: &Line) -> (String, Vec<KrillaGlyph>) {
    let mut text = String::new();
    let mut glyphs = Vec::with_capacity(line.glyphs.len());
    let last = line.glyphs.len().saturating_sub(1);
    for (i, g) in line.glyphs.iter().enumerate() {
        let start = text.len();
        text.push(g.ch);
        let spacing = if i < last { line.spacing / line.size } else { 0.0 };
        glyphs.push(KrillaGlyph {
            glyph_id: GlyphId::new(g.id),
            text_range: start..text.len(),
            x_advance: g.advance + spacing,
            x_offset: 0.0,
            y_offset: 0.0,
            y_advance: 0.0,
            location: None,
        });
    }
    (text, glyphs)
}
