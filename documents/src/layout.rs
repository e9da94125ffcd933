//! Page layout after GB/T 9704-2012 (党政机关公文格式), reduced to what the
//! office's letters use: an A4 page with a type area of 156 × 225 mm on a grid
//! of 22 lines of 28 characters, the title and number centred at the top, the
//! addressee flush left, body paragraphs indented two characters, the issuer
//! and date at the lower right, the page number centred under the type area
//! and the verification line at the foot of every page.

use crate::breaking::{break_balanced, break_lines, width_of};
use crate::font::{Glyph, IDEO_TOP};

/// Points per millimetre.
pub(crate) const MM: f32 = 72.0 / 25.4;
pub(crate) const PAGE_WIDTH: f32 = 210.0 * MM;
pub(crate) const PAGE_HEIGHT: f32 = 297.0 * MM;

const TOP: f32 = 37.0 * MM;
const BOTTOM: f32 = 35.0 * MM;
const LEFT: f32 = 28.0 * MM;
const RIGHT: f32 = 26.0 * MM;
/// 156 mm.
const TEXT_WIDTH: f32 = PAGE_WIDTH - LEFT - RIGHT;
/// Lines on a full page.
const ROWS: usize = 22;
/// 225 mm / 22 ≈ 28.9 pt from one line to the next.
const PITCH: f32 = (PAGE_HEIGHT - TOP - BOTTOM) / ROWS as f32;

/// 三号: the standard puts 28 characters on a 156 mm line, which makes the
/// size 15.79 pt (the nominal 三号 is 16 pt; 28 of those would not fit).
pub(crate) const BODY_SIZE: f32 = TEXT_WIDTH / 28.0;
/// 二号.
const TITLE_SIZE: f32 = 22.0;
/// 四号, for the page number.
const PAGE_NUMBER_SIZE: f32 = 14.0;
/// The verification line under the page number.
const FOOTER_SIZE: f32 = 9.0;
const FOOTER_PITCH: f32 = 12.0;

/// Empty lines between the body and the issuer, where the seal goes.
const SEAL_GAP: usize = 2;
/// Body lines that go along with the issuer and date to a new page, so that
/// the signature never stands on a page without text (GB/T 9704 7.3.5).
const CARRIED_LINES: usize = 2;
/// A line is justified only when it falls short by at most this many characters.
const MAX_JUSTIFY: f32 = 3.0;

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// The title: filled and thinly stroked, to come nearer the heavier
    /// 小标宋 face the standard asks for.
    Title,
    Plain,
    /// The verification line: grey.
    Footer,
}

/// A line placed on a page: `x` and `baseline` in points from the top left.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) glyphs: Vec<Glyph>,
    pub(crate) size: f32,
    pub(crate) x: f32,
    pub(crate) baseline: f32,
    /// Extra space after every glyph but the last (justification), in points.
    pub(crate) spacing: f32,
    pub(crate) style: Style,
}

#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) lines: Vec<Line>,
}

/// The letter's text, cleaned and mapped to glyphs.
#[derive(Debug, Default)]
pub(crate) struct Shaped {
    pub(crate) title: Vec<Vec<Glyph>>,
    pub(crate) number: Vec<Glyph>,
    pub(crate) addressee: Vec<Glyph>,
    pub(crate) paragraphs: Vec<Vec<Glyph>>,
    pub(crate) issuer: Vec<Vec<Glyph>>,
    pub(crate) date: Vec<Glyph>,
    pub(crate) verification: Vec<Glyph>,
}

/// A line on the grid before it has a page: `x` is set, the baseline not yet.
struct Row {
    line: Option<Line>,
    /// A body line may be carried to the signature's page.
    body: bool,
}

impl Row {
    fn blank() -> Row {
        Row { line: None, body: false }
    }
}

fn line(glyphs: &[Glyph], size: f32, x: f32, style: Style) -> Line {
    Line { glyphs: glyphs.to_vec(), size, x, baseline: 0.0, spacing: 0.0, style }
}

/// Lines of `text` broken to `width` (evenly, for a title) and centred on `axis`.
fn centred(text: &[Glyph], size: f32, width: f32, axis: f32, style: Style) -> Vec<Line> {
    let broken =
        if style == Style::Title { break_balanced(text, size, width) } else { break_lines(text, size, width, width) };
    broken
        .into_iter()
        .map(|b| {
            let glyphs = &text[b.range];
            line(glyphs, size, axis - width_of(glyphs, size) / 2.0, style)
        })
        .collect()
}

/// Lay the letter out on pages; a letter with no text at all still gets one
/// page (with its footer).
pub(crate) fn layout(text: &Shaped) -> Vec<Page> {
    let (rows, signature) = (grid_rows(text), signature_rows(text));
    let mut pages = paginate(rows, signature);
    for (index, page) in pages.iter_mut().enumerate() {
        add_footer(page, index + 1, &text.verification);
    }
    pages
}

/// Title, number, addressee and body, one grid row each.
fn grid_rows(text: &Shaped) -> Vec<Row> {
    let axis = LEFT + TEXT_WIDTH / 2.0;
    let mut rows = Vec::new();
    for title_line in &text.title {
        for l in centred(title_line, TITLE_SIZE, TEXT_WIDTH, axis, Style::Title) {
            rows.push(Row { line: Some(l), body: false });
        }
    }
    for l in centred(&text.number, BODY_SIZE, TEXT_WIDTH, axis, Style::Plain) {
        rows.push(Row { line: Some(l), body: false });
    }
    if !rows.is_empty() {
        rows.push(Row::blank());
    }
    // The addressee is flush left, and so are its continuation lines.
    for b in break_lines(&text.addressee, BODY_SIZE, TEXT_WIDTH, TEXT_WIDTH) {
        rows.push(Row { line: Some(line(&text.addressee[b.range], BODY_SIZE, LEFT, Style::Plain)), body: false });
    }
    let indent = 2.0 * BODY_SIZE;
    for paragraph in &text.paragraphs {
        for (i, b) in break_lines(paragraph, BODY_SIZE, TEXT_WIDTH - indent, TEXT_WIDTH).into_iter().enumerate() {
            let (x, width) = if i == 0 { (LEFT + indent, TEXT_WIDTH - indent) } else { (LEFT, TEXT_WIDTH) };
            let glyphs = &paragraph[b.range];
            let mut l = line(glyphs, BODY_SIZE, x, Style::Plain);
            if !b.last {
                l.spacing = justification(glyphs, width);
            }
            rows.push(Row { line: Some(l), body: true });
        }
    }
    rows
}

/// Space to add between glyphs so that a line fills `width`; none for a line
/// much shorter than that (one ended early before a long word).
fn justification(glyphs: &[Glyph], width: f32) -> f32 {
    let slack = width - width_of(glyphs, BODY_SIZE);
    if glyphs.len() < 2 || slack <= 0.0 || slack > MAX_JUSTIFY * BODY_SIZE {
        return 0.0;
    }
    slack / (glyphs.len() - 1) as f32
}

/// The issuer (发文机关署名) centred over the date (成文日期), the date four
/// characters from the right edge; when the issuer is too long for that, the
/// block moves left to stay two characters from the edge.
fn signature_rows(text: &Shaped) -> Vec<Line> {
    let em = BODY_SIZE;
    let right = LEFT + TEXT_WIDTH;
    let max_width = TEXT_WIDTH - 2.0 * em;
    let mut issuer: Vec<&[Glyph]> = Vec::new();
    for issuer_line in &text.issuer {
        for b in break_lines(issuer_line, em, max_width, max_width) {
            issuer.push(&issuer_line[b.range]);
        }
    }
    let date: Vec<&[Glyph]> =
        break_lines(&text.date, em, max_width, max_width).into_iter().map(|b| &text.date[b.range]).collect();
    let all: Vec<&[Glyph]> = issuer.iter().chain(date.iter()).copied().collect();
    let Some(widest) = all.iter().map(|g| width_of(g, em)).reduce(f32::max) else {
        return Vec::new();
    };
    let date_width = date.iter().map(|g| width_of(g, em)).reduce(f32::max).unwrap_or(0.0);
    let mut axis = if date.is_empty() { right - 2.0 * em - widest / 2.0 } else { right - 4.0 * em - date_width / 2.0 };
    axis = axis.min(right - 2.0 * em - widest / 2.0);
    all.into_iter().map(|g| line(g, em, axis - width_of(g, em) / 2.0, Style::Plain)).collect()
}

/// Fill pages of `ROWS` grid rows, then place the signature: after the seal
/// gap on the last page if it fits there, otherwise on a new page together
/// with the last body lines.
fn paginate(rows: Vec<Row>, signature: Vec<Line>) -> Vec<Page> {
    let mut pages: Vec<Vec<Row>> = vec![Vec::new()];
    let push = |pages: &mut Vec<Vec<Row>>, row: Row| {
        if pages.last().is_some_and(|p| p.len() == ROWS) {
            pages.push(Vec::new());
        }
        let continuation = pages.len() > 1;
        let current = pages.last_mut().expect("there is always a page");
        // An empty line at the top of a continuation page would only look like a gap.
        if row.line.is_none() && current.is_empty() && continuation {
            return;
        }
        current.push(row);
    };
    for row in rows {
        push(&mut pages, row);
    }
    if !signature.is_empty() {
        let current = pages.last_mut().expect("there is always a page");
        let gap = if current.is_empty() { 0 } else { SEAL_GAP };
        if current.len() + gap + signature.len() > ROWS {
            let carried = carried_rows(current, signature.len());
            pages.push(carried);
        }
        let current = pages.last_mut().expect("there is always a page");
        if !current.is_empty() {
            for _ in 0..SEAL_GAP {
                push(&mut pages, Row::blank());
            }
        }
        for l in signature {
            push(&mut pages, Row { line: Some(l), body: false });
        }
    }
    pages.into_iter().map(place_rows).collect()
}

/// Take the last body lines off a full page to go with the signature, when
/// they and the signature fit on one page together.
fn carried_rows(page: &mut Vec<Row>, signature_rows: usize) -> Vec<Row> {
    let body_at_end = page.iter().rev().take_while(|r| r.body).count();
    let count = CARRIED_LINES.min(body_at_end);
    if count == 0 || count == page.len() || count + SEAL_GAP + signature_rows > ROWS {
        return Vec::new();
    }
    page.split_off(page.len() - count)
}

fn place_rows(rows: Vec<Row>) -> Page {
    let lines = rows
        .into_iter()
        .enumerate()
        .filter_map(|(i, row)| {
            row.line.map(|mut l| {
                // Every size has its em box centred where a body line's is.
                l.baseline = TOP + i as f32 * PITCH + BODY_SIZE / 2.0 + (IDEO_TOP - 0.5) * l.size;
                l
            })
        })
        .collect();
    Page { lines }
}

/// The page number "— n —" centred with its dashes 7 mm under the type area,
/// and the verification line (wrapped if it must) at the foot of the page.
fn add_footer(page: &mut Page, number: usize, verification: &[Glyph]) {
    let axis = LEFT + TEXT_WIDTH / 2.0;
    let face = crate::font::Face::get();
    let label: Vec<Glyph> = format!("— {number} —").chars().filter_map(|ch| face.glyph(ch)).collect();
    let mut number_line = centred(&label, PAGE_NUMBER_SIZE, TEXT_WIDTH, axis, Style::Plain);
    // The dash sits at the middle of the em box, 0.38 em above the baseline.
    let dash_height = (IDEO_TOP - 0.5) * PAGE_NUMBER_SIZE;
    for l in &mut number_line {
        l.baseline = PAGE_HEIGHT - BOTTOM + 7.0 * MM + dash_height;
    }
    page.lines.extend(number_line);

    let mut footer = centred(verification, FOOTER_SIZE, TEXT_WIDTH, axis, Style::Footer);
    let count = footer.len();
    for (i, l) in footer.iter_mut().enumerate() {
        l.baseline = PAGE_HEIGHT - 12.0 * MM - (count - 1 - i) as f32 * FOOTER_PITCH;
    }
    page.lines.extend(footer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font::Face;

    fn glyphs(text: &str) -> Vec<Glyph> {
        text.chars().map(|c| Face::get().glyph(c).unwrap()).collect()
    }

    fn text_of(line: &Line) -> String {
        line.glyphs.iter().map(|g| g.ch).collect()
    }

    fn letter(paragraphs: usize) -> Shaped {
        Shaped {
            title: vec![glyphs("信用修复决定书")],
            number: glyphs("济高信修〔2026〕第0001号"),
            addressee: glyphs("某某有限公司："),
            paragraphs: (0..paragraphs).map(|_| glyphs(&"信用修复申请经审查符合条件。".repeat(4))).collect(),
            issuer: vec![glyphs("济南高新区信用办公室")],
            date: glyphs("2026年12月2日"),
            verification: glyphs("核验：校验码 3F9A2C71"),
        }
    }

    #[test]
    fn a_full_body_line_holds_28_characters() {
        let text = Shaped { paragraphs: vec![glyphs(&"字".repeat(60))], ..Shaped::default() };
        let pages = layout(&text);
        let body: Vec<String> = pages[0].lines.iter().filter(|l| l.size == BODY_SIZE).map(text_of).collect();
        assert_eq!(body.iter().map(|l| l.chars().count()).collect::<Vec<_>>(), [26, 28, 6]);
        assert!((pages[0].lines[0].x - (LEFT + 2.0 * BODY_SIZE)).abs() < 0.01);
    }

    #[test]
    fn short_letter_is_one_page_with_the_signature_at_the_right() {
        let pages = layout(&letter(2));
        assert_eq!(pages.len(), 1);
        let lines = &pages[0].lines;
        let issuer = lines.iter().find(|l| text_of(l) == "济南高新区信用办公室").unwrap();
        let date = lines.iter().find(|l| text_of(l) == "2026年12月2日").unwrap();
        let right = LEFT + TEXT_WIDTH;
        let date_end = date.x + width_of(&date.glyphs, BODY_SIZE);
        assert!((right - date_end - 4.0 * BODY_SIZE).abs() < 0.01, "date four characters from the edge");
        let centre = |l: &Line| l.x + width_of(&l.glyphs, l.size) / 2.0;
        assert!((centre(issuer) - centre(date)).abs() < 0.01, "issuer centred over the date");
        assert!((date.baseline - issuer.baseline - PITCH).abs() < 0.01);
        assert!(lines.iter().any(|l| text_of(l) == "— 1 —"));
    }

    #[test]
    fn signature_never_stands_alone_on_a_page() {
        // Find a body length that fills page 1 to the last row, so the signature must move.
        for paragraphs in 1..12 {
            let pages = layout(&letter(paragraphs));
            let last = pages.last().unwrap();
            let body_lines = last.lines.iter().filter(|l| text_of(l).contains("审查")).count();
            assert!(body_lines > 0, "{paragraphs} paragraphs: the signature page has no body text");
            let issuer = last.lines.iter().filter(|l| text_of(l) == "济南高新区信用办公室").count();
            assert_eq!(issuer, 1);
        }
    }

    #[test]
    fn missing_optional_parts_leave_no_gap() {
        let text = Shaped { paragraphs: vec![glyphs("正文。")], ..Shaped::default() };
        let pages = layout(&text);
        assert_eq!(pages[0].lines[0].baseline, TOP + BODY_SIZE * IDEO_TOP);
        // The page number alone in the footer; no verification line.
        assert_eq!(pages[0].lines.len(), 2);
    }
}
