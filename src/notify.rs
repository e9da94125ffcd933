//! Notification templates (Simplified Chinese; subject, plain text, HTML),
//! rendered with minijinja. Each template is one TOML file under
//! `templates/mail/`; the binary embeds the defaults and a configured
//! directory overrides them file by file.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;
use serde::{Deserialize, Serialize};

/// The embedded default templates.
pub const BUILTIN: &[(&str, &str)] = &[
    ("case_received", include_str!("../templates/mail/case_received.toml")),
    ("supplement_requested", include_str!("../templates/mail/supplement_requested.toml")),
    ("case_accepted", include_str!("../templates/mail/case_accepted.toml")),
    ("case_decided", include_str!("../templates/mail/case_decided.toml")),
    ("case_withdrawn", include_str!("../templates/mail/case_withdrawn.toml")),
    ("case_urged", include_str!("../templates/mail/case_urged.toml")),
    ("case_revoked", include_str!("../templates/mail/case_revoked.toml")),
    ("deadline_extended", include_str!("../templates/mail/deadline_extended.toml")),
    ("deadline_warning", include_str!("../templates/mail/deadline_warning.toml")),
    ("deadline_overdue", include_str!("../templates/mail/deadline_overdue.toml")),
    ("publication_ended", include_str!("../templates/mail/publication_ended.toml")),
    ("record_withdrawn", include_str!("../templates/mail/record_withdrawn.toml")),
    ("repair_open", include_str!("../templates/mail/repair_open.toml")),
    ("daily_digest", include_str!("../templates/mail/daily_digest.toml")),
    ("calendar_provisional", include_str!("../templates/mail/calendar_provisional.toml")),
    ("case_routed", include_str!("../templates/mail/case_routed.toml")),
    ("case_handed_back", include_str!("../templates/mail/case_handed_back.toml")),
    ("extension_requested", include_str!("../templates/mail/extension_requested.toml")),
    ("extension_refused", include_str!("../templates/mail/extension_refused.toml")),
];

/// `value` with every null member of every object left out.
fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(m) => {
            Value::Object(m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The embedded letter templates (formal documents, `templates/letters/`),
/// one per letter of `domain::documents::LETTERS`.
pub const LETTERS: &[(&str, &str)] = &[
    ("repair_approved", include_str!("../templates/letters/repair_approved.toml")),
    ("repair_denied", include_str!("../templates/letters/repair_denied.toml")),
    ("repair_revoked", include_str!("../templates/letters/repair_revoked.toml")),
    ("objection_result", include_str!("../templates/letters/objection_result.toml")),
    ("not_accepted", include_str!("../templates/letters/not_accepted.toml")),
    ("supplement_notice", include_str!("../templates/letters/supplement_notice.toml")),
];

/// A letter template file: the title, the addressee line and the body
/// paragraphs, each a template; a paragraph that renders empty is left out,
/// and a line break inside one starts a new paragraph.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LetterFile {
    title: String,
    addressee: String,
    paragraphs: Vec<String>,
}

/// A letter's text, ready for the PDF.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LetterText {
    pub title: String,
    pub addressee: String,
    pub paragraphs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    subject: String,
    text: String,
    html: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
    /// Letter name -> number of paragraphs (templates `letter.<name>.*`).
    letters: BTreeMap<String, usize>,
}

impl Templates {
    /// Loads the embedded templates, replacing any that `dir` provides.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Templates> {
        let mut sources: BTreeMap<String, String> =
            BUILTIN.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
        if let Some(dir) = dir {
            for (name, _) in BUILTIN {
                let path = dir.join("mail").join(format!("{name}.toml"));
                if path.exists() {
                    sources.insert(name.to_string(), std::fs::read_to_string(&path)?);
                }
            }
        }
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        for (name, src) in &sources {
            let file: TemplateFile = toml::from_str(src).map_err(|e| anyhow::anyhow!("template {name}.toml: {e}"))?;
            for (part, body) in [("subject", file.subject), ("text", file.text), ("html", file.html)] {
                env.add_template_owned(format!("{name}.{part}"), body)
                    .map_err(|e| anyhow::anyhow!("template {name}.toml ({part}): {e}"))?;
            }
        }
        let mut letters = BTreeMap::new();
        for (name, builtin) in LETTERS {
            let custom = dir.map(|d| d.join("letters").join(format!("{name}.toml"))).filter(|p| p.exists());
            let src = match custom {
                Some(path) => std::fs::read_to_string(&path)?,
                None => builtin.to_string(),
            };
            let file: LetterFile =
                toml::from_str(&src).map_err(|e| anyhow::anyhow!("letter template {name}.toml: {e}"))?;
            let add = |env: &mut Environment<'static>, key: String, body: String| {
                env.add_template_owned(key.clone(), body).map_err(|e| anyhow::anyhow!("letter template {key}: {e}"))
            };
            add(&mut env, format!("letter.{name}.title"), file.title)?;
            add(&mut env, format!("letter.{name}.addressee"), file.addressee)?;
            let count = file.paragraphs.len();
            for (i, p) in file.paragraphs.into_iter().enumerate() {
                add(&mut env, format!("letter.{name}.p{i}"), p)?;
            }
            letters.insert(name.to_string(), count);
        }
        Ok(Templates { env, letters })
    }

    /// Renders the letter `name` with `ctx` (absent values left out, as in mails).
    pub fn render_letter(&self, name: &str, ctx: &serde_json::Value) -> anyhow::Result<LetterText> {
        let count = *self.letters.get(name).ok_or_else(|| anyhow::anyhow!("no letter template {name}"))?;
        let ctx = &without_nulls(ctx);
        let part = |p: &str| -> anyhow::Result<String> {
            Ok(self.env.get_template(&format!("letter.{name}.{p}"))?.render(minijinja::value::Serde(ctx))?)
        };
        let mut paragraphs = Vec::new();
        for i in 0..count {
            let text = part(&format!("p{i}"))?;
            paragraphs.extend(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string));
        }
        Ok(LetterText {
            title: part("title")?.trim().to_string(),
            addressee: part("addressee")?.trim().to_string(),
            paragraphs,
        })
    }

    /// Renders a template. Absent values (JSON null) count as undefined, so
    /// `default(...)` and `{% if %}` treat them alike and no mail ever
    /// shows "none".
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> anyhow::Result<Rendered> {
        let ctx = &without_nulls(ctx);
        let part = |p: &str| -> anyhow::Result<String> {
            Ok(self.env.get_template(&format!("{name}.{p}"))?.render(minijinja::value::Serde(ctx))?)
        };
        Ok(Rendered { subject: part("subject")?.trim().to_string(), text: part("text")?, html: part("html")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_render_in_chinese() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render(
                "case_accepted",
                &serde_json::json!({"case_no": "YY-2026-000001", "kind_label": "异议申请", "record_title": "行政处罚"}),
            )
            .unwrap();
        assert!(r.subject.contains("YY-2026-000001"));
        assert!(r.text.contains("受理"));
        for (name, _) in BUILTIN {
            assert!(t.render(name, &serde_json::json!({})).is_ok(), "{name}");
        }
    }

    /// Problems a rendered part shows when an optional field is absent: a
    /// literal none/null, an empty pair of brackets or quotes, or a label
    /// with nothing after it (any line but the salutation ending in "：").
    fn placeholder_problems(name: &str, part: &str, text: &str) -> Vec<String> {
        let plain = if part == "html" {
            // Tags end lines, so a label left alone in a paragraph shows.
            // Block tags end lines; inline ones (strong, a) do not.
            let mut out = String::new();
            let mut tag: Option<String> = None;
            for ch in text.chars() {
                match (ch, tag.as_mut()) {
                    ('<', None) => tag = Some(String::new()),
                    ('>', Some(t)) => {
                        let name: String =
                            t.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                        if ["p", "br", "li", "ol", "ul", "div", "tr", "table", "h1", "h2", "h3"]
                            .contains(&name.as_str())
                        {
                            out.push('\n');
                        }
                        tag = None;
                    }
                    (c, Some(t)) => t.push(c),
                    (c, None) => out.push(c),
                }
            }
            out
        } else {
            text.to_string()
        };
        let mut problems = Vec::new();
        let lower = plain.to_lowercase();
        for word in ["none", "null", "undefined"] {
            if lower.contains(word) {
                problems.push(format!("{name}.{part}: shows `{word}`"));
            }
        }
        for pair in ["（）", "“”", "《》", "()", "：。", "：，"] {
            if plain.contains(pair) {
                problems.push(format!("{name}.{part}: shows an empty `{pair}`"));
            }
        }
        let lines: Vec<&str> = plain.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        for line in lines.iter().skip(1) {
            if line.ends_with('：') || line.ends_with(':') {
                problems.push(format!("{name}.{part}: a label with nothing after it: `{line}`"));
            }
        }
        problems
    }

    #[test]
    fn every_template_renders_without_placeholders_when_optional_fields_are_absent() {
        let t = Templates::load(None).unwrap();
        // What a mail always has (a case mail its case, state and link; the
        // digest its date; a withdrawal its subject and day); everything
        // else is optional and given here as absent (null) or not at all.
        let minimal = serde_json::json!({
            "case_no": "YY2026000001", "kind_label": "异议申请", "link": "http://127.0.0.1:8080/cases/1",
            "record_title": "行政处罚", "document_no": "济高环罚〔2026〕1号", "extension_days": 3,
            "state_title": "待部门核查", "result": "已办结", "date": "2026-12-02",
            "subject_name": "某某有限公司", "ended_on": "2026-12-02", "reason": null, "revoking_document_no": null,
            "recipient_name": null, "department_name": null, "comment": null, "due_date": null,
            "total_due_date": null, "outcome_label": null, "bar_until": null, "document_number": null, "document_title": null,
            "missing": [], "missing_items": [],
        });
        let mut problems = Vec::new();
        for (name, _) in BUILTIN {
            let r = t.render(name, &minimal).unwrap_or_else(|e| panic!("{name}: {e}"));
            for (part, text) in [("subject", &r.subject), ("text", &r.text), ("html", &r.html)] {
                problems.extend(placeholder_problems(name, part, text));
            }
        }
        problems.sort();
        problems.dedup();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn null_values_fall_back_to_their_defaults() {
        let t = Templates::load(None).unwrap();
        let r = t
            .render(
                "case_urged",
                &serde_json::json!({"case_no": "XF1", "kind_label": "信用修复申请", "department_name": null}),
            )
            .unwrap();
        assert!(r.text.starts_with("\n认定单位：") || r.text.contains("认定单位："), "{}", r.text);
        assert!(!r.text.contains("none"));
    }
}
