//! Line breaking for Chinese text with some Latin in it.
//!
//! A line may break between any two CJK characters, after a space, and between
//! a CJK character and a Latin one; never before closing punctuation (，。）》 …)
//! nor after opening punctuation (（《“ …), and never inside a ―― or …… pair.
//! A Latin word longer than the line is cut where the line is full.

use std::ops::Range;

use crate::font::Glyph;

/// Widths are compared with this tolerance (points), so that 28 full-width
/// characters fill a 28-character line despite float rounding.
const EPSILON: f32 = 0.01;

/// One line of a broken text: the glyphs it shows (trailing spaces dropped)
/// and whether a paragraph ends with it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Broken {
    pub(crate) range: Range<usize>,
    pub(crate) last: bool,
}

/// Break `glyphs` set at `size` points into lines: the first `first_width`
/// points wide, the others `width`.
pub(crate) fn break_lines(glyphs: &[Glyph], size: f32, first_width: f32, width: f32) -> Vec<Broken> {
    let n = glyphs.len();
    let mut lines = Vec::new();
    let mut start = skip_spaces(glyphs, 0);
    while start < n {
        let avail = if lines.is_empty() { first_width } else { width };
        let mut x = 0.0;
        let mut end = start;
        // At least one glyph per line, even when it alone is too wide.
        while end < n && (end == start || x + glyphs[end].advance * size <= avail + EPSILON) {
            x += glyphs[end].advance * size;
            end += 1;
        }
        if end == n {
            lines.push(Broken { range: start..trim_spaces(glyphs, start, n), last: true });
            break;
        }
        let cut = if is_space(glyphs[end].ch) {
            end
        } else {
            // The last place in this line where a break is allowed; a word
            // with none in it is cut where the line is full, and so is one
            // that would not fit on a line of its own either.
            match (start + 1..=end).rev().find(|&at| may_break_before(glyphs, at)) {
                Some(at) if word_width(glyphs, at, size) <= width + EPSILON => at,
                _ => end,
            }
        };
        lines.push(Broken { range: start..trim_spaces(glyphs, start, cut), last: false });
        start = skip_spaces(glyphs, cut);
    }
    if let Some(line) = lines.last_mut() {
        line.last = true;
    }
    lines
}

/// Natural width of `glyphs` at `size` points.
pub(crate) fn width_of(glyphs: &[Glyph], size: f32) -> f32 {
    glyphs.iter().map(|g| g.advance * size).sum()
}

/// Width of the unbreakable run of glyphs from `start`.
fn word_width(glyphs: &[Glyph], start: usize, size: f32) -> f32 {
    let end = (start + 1..glyphs.len()).find(|&at| may_break_before(glyphs, at)).unwrap_or(glyphs.len());
    width_of(&glyphs[start..end], size)
}

/// Break `glyphs` into as few lines as at `width`, but with the lines as
/// even as possible (for centred titles): the narrowest width, in steps of
/// a quarter character, that needs no more lines.
pub(crate) fn break_balanced(glyphs: &[Glyph], size: f32, width: f32) -> Vec<Broken> {
    let lines = break_lines(glyphs, size, width, width);
    if lines.len() < 2 {
        return lines;
    }
    let step = size / 4.0;
    let mut best = lines;
    let mut narrower = width - step;
    while narrower > 0.0 {
        let attempt = break_lines(glyphs, size, narrower, narrower);
        if attempt.len() > best.len() {
            break;
        }
        best = attempt;
        narrower -= step;
    }
    best
}

fn skip_spaces(glyphs: &[Glyph], mut at: usize) -> usize {
    while at < glyphs.len() && is_space(glyphs[at].ch) {
        at += 1;
    }
    at
}

fn trim_spaces(glyphs: &[Glyph], start: usize, mut end: usize) -> usize {
    while end > start && is_space(glyphs[end - 1].ch) {
        end -= 1;
    }
    end
}

/// A space that may disappear at a line's end. The ideographic space U+3000
/// is a character of its own (it is kept).
fn is_space(ch: char) -> bool {
    ch == ' '
}

fn may_break_before(glyphs: &[Glyph], at: usize) -> bool {
    let (before, after) = (glyphs[at - 1].ch, glyphs[at].ch);
    if is_space(after) {
        // Break after the spaces, not before them.
        return false;
    }
    if is_space(before) {
        return true;
    }
    if before == after && matches!(before, '—' | '…' | '―' | '⋯') {
        return false;
    }
    if closes(after) || opens(before) {
        return false;
    }
    is_wide(before) || is_wide(after)
}

/// Characters that must not begin a line.
fn closes(ch: char) -> bool {
    matches!(
        ch,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '］'
            | '｝'
            | '》'
            | '〉'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '〗'
            | '〙'
            | '”'
            | '’'
            | '％'
            | '‰'
            | '℃'
            | '·'
            | '・'
            | '．'
            | '…'
            | '⋯'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Characters that must not end a line.
fn opens(ch: char) -> bool {
    matches!(
        ch,
        '（' | '［' | '｛' | '《' | '〈' | '「' | '『' | '【' | '〔' | '〖' | '〘' | '“' | '‘' | '(' | '[' | '{'
    )
}

/// Characters set on the CJK grid, between which a line may break.
fn is_wide(ch: char) -> bool {
    matches!(
        u32::from(ch),
        0x1100..=0x115F
            | 0x2014
            | 0x2018..=0x201D
            | 0x2026
            | 0x2E80..=0x303E
            | 0x3040..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs with made-up metrics: CJK one em, everything else half an em.
    fn glyphs(text: &str) -> Vec<Glyph> {
        text.chars().map(|ch| Glyph { ch, id: 1, advance: if is_wide(ch) { 1.0 } else { 0.5 } }).collect()
    }

    fn lines(text: &str, chars_per_line: f32) -> Vec<String> {
        let g = glyphs(text);
        break_lines(&g, 10.0, chars_per_line * 10.0, chars_per_line * 10.0)
            .into_iter()
            .map(|l| g[l.range].iter().map(|g| g.ch).collect())
            .collect()
    }

    #[test]
    fn breaks_between_any_two_hanzi() {
        assert_eq!(lines("一二三四五六七八", 3.0), ["一二三", "四五六", "七八"]);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // "，" would start the second line: the character before it moves down with it.
        assert_eq!(lines("一二三，四五", 3.0), ["一二", "三，四", "五"]);
        assert_eq!(lines("一二三。”四", 3.0), ["一二", "三。”", "四"]);
    }

    #[test]
    fn opening_punctuation_never_ends_a_line() {
        assert_eq!(lines("一二《三》", 3.0), ["一二", "《三》"]);
        assert_eq!(lines("济高信修〔2026〕", 5.0), ["济高信修", "〔2026〕"]);
    }

    #[test]
    fn latin_words_stay_whole_and_spaces_vanish_at_the_break() {
        assert_eq!(lines("ab cd ef", 2.0), ["ab", "cd", "ef"]);
        assert_eq!(lines("ab cd ef", 3.0), ["ab cd", "ef"]);
        assert_eq!(lines("查询XF-2026", 4.0), ["查询", "XF-2026"]);
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_where_it_is_full() {
        assert_eq!(lines("abcdefghij", 2.0), ["abcd", "efgh", "ij"]);
        // It starts on the line where it begins instead of leaving a gap there.
        assert_eq!(lines("一ab cdefghij", 2.0), ["一ab", "cdef", "ghij"]);
        assert_eq!(lines("一二abcdefgh", 2.0), ["一二", "abcd", "efgh"]);
        assert_eq!(lines("一abcdefgh", 2.0), ["一ab", "cdef", "gh"]);
    }

    #[test]
    fn balanced_lines_are_even() {
        let g = glyphs("一二三四五六七八九十");
        let broken: Vec<usize> = break_balanced(&g, 10.0, 80.0).into_iter().map(|l| l.range.len()).collect();
        assert_eq!(broken, [5, 5]);
        let broken: Vec<usize> = break_balanced(&g, 10.0, 100.0).into_iter().map(|l| l.range.len()).collect();
        assert_eq!(broken, [10]);
    }

    #[test]
    fn dash_pairs_are_not_split() {
        assert_eq!(lines("一二——三", 3.0), ["一二", "——三"]);
    }

    #[test]
    fn first_line_may_be_narrower() {
        let g = glyphs("一二三四五六七");
        let broken = break_lines(&g, 10.0, 20.0, 40.0);
        assert_eq!(
            broken,
            [
                Broken { range: 0..2, last: false },
                Broken { range: 2..6, last: false },
                Broken { range: 6..7, last: true }
            ]
        );
    }

    #[test]
    fn empty_and_blank_text_gives_no_lines() {
        assert!(lines("", 3.0).is_empty());
        assert!(lines("   ", 3.0).is_empty());
    }
}
