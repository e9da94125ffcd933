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
];

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
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> anyhow::Result<Rendered> {
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
}
