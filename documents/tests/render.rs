//! Render letters and read them back with poppler (pdftotext, pdfinfo,
//! pdftoppm from Debian's `poppler-utils`). Without poppler these tests fail
//! and say so.
//!
//! `SAMPLES=1 cargo test -p credit-documents` also writes page 1 of the full
//! letter to `documents/samples/letter-page1.png`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use credit_documents::{DocumentError, Field, Letter, MissingGlyph, render};

fn full_letter() -> Letter {
    Letter {
        title: "信用修复决定书".into(),
        number: "济高信修〔2026〕第0001号".into(),
        addressee: Some("济南某某商贸有限公司：".into()),
        paragraphs: vec![
            "你单位于2026年11月18日提交的信用修复申请收悉。申请修复的失信信息为：因未按期报送2025年度报告被列入经营异常名录（信息编号：XZGL-2025-031847）。".into(),
            "经审查，你单位已补报年度报告并公示，主动消除了不良影响，提交的《信用修复申请书》《信用承诺书》等材料齐全，符合《失信行为纠正后的信用信息修复管理办法（试行）》规定的修复条件。".into(),
            "本机关决定对上述失信信息予以信用修复，自本决定作出之日起停止在“信用中国（山东济南）”网站公示，并同步告知相关部门。".into(),
            "如对本决定不服，可以自收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法提起行政诉讼。".into(),
            "特此决定。".into(),
        ],
        issuer: "济南高新技术产业开发区信用办公室".into(),
        date: "2026年12月2日".into(),
        verification: "核验：案件编号 XF-2026-000123 · 校验码 3F9A2C71 · 在 /verify 页面查询".into(),
    }
}

/// Enough text for three pages.
fn long_letter() -> Letter {
    let mut letter = full_letter();
    letter.title = "异议处理结果告知书".into();
    letter.number = "济高信异〔2026〕第0042号".into();
    letter.paragraphs = (1..=13)
        .map(|i| {
            format!(
                "第{i}项：经核查，该条记录所涉事实与提供单位报送的原始材料一致，记录内容准确，报送程序符合规定。\
                 你单位提出的异议理由缺乏事实依据，本机关不予支持，该条记录继续按原期限公示。"
            )
        })
        .collect();
    letter
}

/// Normalise extracted text: drop all whitespace (line breaks fall anywhere).
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A fresh path under the system temp dir for this test process.
fn temp_path(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!("credit-documents-{}-{n}-{name}", std::process::id()))
}

fn write_pdf(bytes: &[u8]) -> PathBuf {
    let path = temp_path("letter.pdf");
    std::fs::write(&path, bytes).expect("write the PDF to a temp file");
    path
}

/// Run a poppler tool; panic with how to install it when it is missing.
fn poppler(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{tool}` ({e}): these tests need poppler's command-line tools; \
             install them with `apt-get install -y poppler-utils`"
        )
    });
    assert!(output.status.success(), "{tool} {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("poppler prints UTF-8")
}

fn text_of(pdf: &Path, page: Option<usize>) -> String {
    let path = pdf.to_str().unwrap();
    match page {
        Some(p) => poppler("pdftotext", &["-enc", "UTF-8", "-f", &p.to_string(), "-l", &p.to_string(), path, "-"]),
        None => poppler("pdftotext", &["-enc", "UTF-8", path, "-"]),
    }
}

fn page_count(pdf: &Path) -> usize {
    let info = poppler("pdfinfo", &[pdf.to_str().unwrap()]);
    let line = info.lines().find(|l| l.starts_with("Pages:")).expect("pdfinfo prints the page count");
    line["Pages:".len()..].trim().parse().expect("a number of pages")
}

/// Render page 1 to PNG at `dpi` and return its bytes.
fn page1_png(pdf: &Path, dpi: u32) -> Vec<u8> {
    let prefix = temp_path("page");
    let dpi = dpi.to_string();
    poppler(
        "pdftoppm",
        &["-png", "-r", &dpi, "-f", "1", "-l", "1", "-singlefile", pdf.to_str().unwrap(), prefix.to_str().unwrap()],
    );
    let png = prefix.with_file_name(format!("{}.png", prefix.file_name().unwrap().to_str().unwrap()));
    let bytes = std::fs::read(&png).expect("pdftoppm wrote a PNG");
    std::fs::remove_file(&png).ok();
    bytes
}

fn assert_contains(haystack: &str, needle: &str) {
    assert!(squeeze(haystack).contains(&squeeze(needle)), "{needle:?} not found in the extracted text:\n{haystack}");
}

#[test]
fn full_letter_text_comes_back_out() {
    let letter = full_letter();
    let bytes = render(&letter).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let pdf = write_pdf(&bytes);
    assert_eq!(page_count(&pdf), 1);
    let text = text_of(&pdf, None);
    for needle in [
        "信用修复决定书",
        "济高信修〔2026〕第0001号",
        "济南某某商贸有限公司：",
        "经审查，你单位已补报年度报告并公示，主动消除了不良影响，提交的《信用修复申请书》《信用承诺书》等材料齐全",
        "（信息编号：XZGL-2025-031847）",
        "济南高新技术产业开发区信用办公室",
        "2026年12月2日",
        "核验：案件编号 XF-2026-000123 · 校验码 3F9A2C71 · 在 /verify 页面查询",
        "— 1 —",
    ] {
        assert_contains(&text, needle);
    }
    // The Latin words of the verification line keep their spaces.
    assert!(text.contains("XF-2026-000123 · 校验码 3F9A2C71"), "{text}");
    std::fs::remove_file(&pdf).ok();
}

#[test]
fn long_letter_flows_onto_three_pages_with_footers_on_each() {
    let letter = long_letter();
    let pdf = write_pdf(&render(&letter).unwrap());
    assert_eq!(page_count(&pdf), 3);
    for page in 1..=3 {
        let text = text_of(&pdf, Some(page));
        assert_contains(&text, &format!("— {page} —"));
        assert_contains(&text, "核验：案件编号 XF-2026-000123 · 校验码 3F9A2C71 · 在 /verify 页面查询");
    }
    let first = text_of(&pdf, Some(1));
    assert_contains(&first, "异议处理结果告知书");
    assert_contains(&first, "济高信异〔2026〕第0042号");
    let last = text_of(&pdf, Some(3));
    assert_contains(&last, "第13项：经核查");
    assert_contains(&last, "济南高新技术产业开发区信用办公室");
    assert_contains(&last, "2026年12月2日");
    // Every paragraph arrives whole, in order, once the footers are taken out.
    let footer = squeeze(&letter.verification);
    let all: String = (1..=3)
        .map(|page| squeeze(&text_of(&pdf, Some(page))).replace(&footer, "").replace(&format!("—{page}—"), ""))
        .collect();
    let mut from = 0;
    for p in &letter.paragraphs {
        let at = all[from..].find(&squeeze(p)).unwrap_or_else(|| panic!("paragraph missing or out of order: {p}"));
        from += at + p.len();
    }
    std::fs::remove_file(&pdf).ok();
}

#[test]
fn optional_parts_left_empty_leave_no_placeholder() {
    let letter = Letter {
        title: "补正通知书".into(),
        number: String::new(),
        addressee: Some("   ".into()),
        paragraphs: vec!["请于十五个工作日内补正下列材料：营业执照复印件。".into()],
        issuer: String::new(),
        date: String::new(),
        verification: String::new(),
    };
    let pdf = write_pdf(&render(&letter).unwrap());
    let text = squeeze(&text_of(&pdf, None));
    assert_eq!(text, squeeze("补正通知书 请于十五个工作日内补正下列材料：营业执照复印件。 — 1 —"));
    std::fs::remove_file(&pdf).ok();
}

#[test]
fn page_one_renders_to_a_png() {
    let pdf = write_pdf(&render(&full_letter()).unwrap());
    let png = page1_png(&pdf, 60);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // The IHDR chunk: width and height of A4 at 60 dpi (about 496 × 702).
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!((495..=498).contains(&width) && (701..=703).contains(&height), "{width} × {height}");
    // A blank page compresses to almost nothing; a page of text does not.
    assert!(png.len() > 20_000, "page 1 looks empty: {} bytes", png.len());
    if std::env::var_os("SAMPLES").is_some_and(|v| v == "1") {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/letter-page1.png");
        std::fs::create_dir_all(sample.parent().unwrap()).unwrap();
        std::fs::write(&sample, page1_png(&pdf, 100)).unwrap();
        eprintln!("wrote {}", sample.display());
    }
    std::fs::remove_file(&pdf).ok();
}

#[test]
fn rendering_is_deterministic() {
    let letter = long_letter();
    let first = render(&letter).unwrap();
    // Another thread: no per-thread state (hash seeds) may reach the bytes.
    let second = std::thread::spawn(move || render(&letter).unwrap()).join().unwrap();
    assert!(first == second, "two renders of the same letter differ");
    // And the bytes carry no date.
    let text = String::from_utf8_lossy(&first);
    assert!(!text.contains("CreationDate") && !text.contains("ModDate"));
}

/// Set in the child process of the test below: where to write its render.
const CHILD_OUTPUT: &str = "CREDIT_DOCUMENTS_DETERMINISM_OUTPUT";

#[test]
fn rendering_is_deterministic_across_processes() {
    if let Some(path) = std::env::var_os(CHILD_OUTPUT) {
        std::fs::write(path, render(&long_letter()).unwrap()).unwrap();
        return;
    }
    // Run this very test again in a fresh process (new hash seeds, new
    // allocations) and compare its bytes with ours.
    let path = temp_path("child.pdf");
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "rendering_is_deterministic_across_processes", "--test-threads=1"])
        .env(CHILD_OUTPUT, &path)
        .output()
        .expect("run the test binary again");
    assert!(output.status.success(), "the child process failed: {}", String::from_utf8_lossy(&output.stdout));
    let child = std::fs::read(&path).expect("the child process wrote its PDF");
    std::fs::remove_file(&path).ok();
    assert!(child == render(&long_letter()).unwrap(), "a render in another process differs");
}

#[test]
fn an_empty_letter_is_one_page_with_its_page_number() {
    let pdf = write_pdf(&render(&Letter::default()).unwrap());
    assert_eq!(page_count(&pdf), 1);
    assert_eq!(squeeze(&text_of(&pdf, None)), "—1—");
    std::fs::remove_file(&pdf).ok();
}

#[test]
fn the_font_is_subsetted_per_document() {
    let bytes = render(&full_letter()).unwrap();
    // The embedded font file is about 3.9 MB; a letter carries a small part of it.
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
}

#[test]
fn a_character_outside_the_font_is_refused_and_named() {
    let mut letter = full_letter();
    letter.addressee = Some("𠮷祥商贸有限公司：".into());
    let err = render(&letter).unwrap_err();
    assert_eq!(err, DocumentError::MissingGlyphs(vec![MissingGlyph { ch: '𠮷', field: Field::Addressee }]));
    assert!(err.to_string().contains("'𠮷' (U+20BB7)"), "{err}");
}

#[test]
fn rare_name_characters_outside_gb2312_render_and_extract() {
    // 喆 堃 昇 珺 are GBK hanzi missing from GB 2312; company names use them.
    let letter = Letter { addressee: Some("济南喆堃昇珺商贸有限公司：".into()), ..full_letter() };
    let pdf = write_pdf(&render(&letter).expect("every GBK hanzi is in the font"));
    assert_contains(&squeeze(&text_of(&pdf, None)), "济南喆堃昇珺商贸有限公司");
}
