//! Layered configuration: defaults in code, then an optional TOML file
//! (`CONFIG_FILE`, or `credit-repair.toml` in the working directory), then
//! environment variables. Secrets are wrapped so `Debug` never prints them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::period::PeriodRules;

/// A secret string whose `Debug` output is redacted.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default = "default_from")]
    pub from: String,
}

fn default_smtp_port() -> u16 {
    25
}
fn default_smtp_tls() -> SmtpTls {
    SmtpTls::None
}
fn default_from() -> String {
    "区信用办 <noreply@credit.local>".into()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://...` or `postgres://...`. Empty means a SQLite file in `data_dir`.
    pub database_url: String,
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    /// HS256 signing secret. Empty means: generate one and keep it in `data_dir`.
    pub jwt_secret: Secret,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// Wrong passwords from one address that lock that address for the account.
    pub login_max_failures: i32,
    pub login_lock_minutes: i64,
    /// The account-wide delay and the counting window (`domain::login_throttle`).
    pub login_throttle: crate::domain::login_throttle::ThrottleSettings,
    /// Proxies whose `X-Forwarded-For` names the client (none by default: the
    /// peer address is the client).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub smtp: Option<SmtpSettings>,
    pub demo_password: Secret,
    /// Seed demo data into an empty database even when it is not the default SQLite one.
    pub demo: bool,
    /// Directories overriding the embedded workflow definitions and templates.
    pub workflows_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub max_attachment_bytes: usize,
    /// The largest bulk-import file (xlsx or CSV).
    pub max_import_bytes: usize,
    /// Years during which a revoked repair bars a new repair on the record.
    pub repair_bar_years: u32,
    /// Repeat-application limits and the bar's scope (off by default).
    pub repair_policy: crate::domain::repair_policy::RepairPolicy,
    /// Market-regulation records: refer their repair to SAMR's system, or register SAMR's decision.
    pub samr: crate::domain::samr::SamrSettings,
    /// Delivery of sync messages to subscribers: tries, timeout, backoff.
    pub delivery: crate::domain::delivery::DeliverySettings,
    /// Bearer token for `GET /metrics`; unset: loopback clients only.
    pub metrics_token: Option<Secret>,
    /// Formal documents: issuer, number format and families.
    pub documents: crate::domain::documents::DocumentSettings,
    /// Seconds between scheduler ticks.
    pub tick_seconds: u64,
    /// Start the scheduler with the server.
    pub scheduler: bool,
    pub outbox_max_attempts: i32,
    /// Local hour (Asia/Shanghai) after which the daily digest goes out.
    pub digest_hour: u32,
    pub publication: PeriodRules,
    /// Public base URL used in notification links.
    pub public_url: String,
    /// A page session ends after this many minutes without a request (等保 timeout).
    pub session_idle_minutes: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: String::new(),
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("./data"),
            jwt_secret: Secret::default(),
            access_token_minutes: 15,
            refresh_token_days: 14,
            login_max_failures: 5,
            login_lock_minutes: 15,
            login_throttle: Default::default(),
            trusted_proxies: Vec::new(),
            smtp: None,
            demo_password: Secret::new(DEFAULT_DEMO_PASSWORD),
            demo: false,
            workflows_dir: None,
            templates_dir: None,
            max_body_bytes: 256 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            max_import_bytes: 64 * 1024 * 1024,
            repair_bar_years: 3,
            repair_policy: Default::default(),
            samr: Default::default(),
            delivery: Default::default(),
            documents: Default::default(),
            metrics_token: None,
            tick_seconds: 60,
            scheduler: true,
            outbox_max_attempts: 6,
            digest_hour: 8,
            publication: PeriodRules::default(),
            public_url: "http://127.0.0.1:8080".into(),
            session_idle_minutes: 30,
        }
    }
}

/// Shared by every demo account unless `DEMO_PASSWORD` says otherwise.
pub const DEFAULT_DEMO_PASSWORD: &str = "Xinyong#2026";

impl Settings {
    /// Defaults, then the config file, then the environment.
    pub fn load() -> anyhow::Result<Settings> {
        let file = std::env::var("CONFIG_FILE").ok().map(PathBuf::from).or_else(|| {
            let p = PathBuf::from("credit-repair.toml");
            p.exists().then_some(p)
        });
        let mut s = match file {
            Some(path) => Self::from_file(&path)?,
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(k: &str, v: String) -> anyhow::Result<T> {
            v.parse().map_err(|_| anyhow::anyhow!("environment variable {k} has an invalid value"))
        }
        if let Some(v) = get("DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("HOST") {
            self.host = v;
        }
        if let Some(v) = get("PORT") {
            self.port = parse("PORT", v)?;
        }
        if let Some(v) = get("DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("JWT_SECRET") {
            self.jwt_secret = Secret::new(v);
        }
        if let Some(v) = get("METRICS_TOKEN") {
            self.metrics_token = Some(Secret::new(v)).filter(|t| !t.expose().is_empty());
        }
        if let Some(v) = get("DEMO_PASSWORD") {
            self.demo_password = Secret::new(v);
        }
        if let Some(v) = get("WORKFLOWS_DIR") {
            self.workflows_dir = Some(v.into());
        }
        if let Some(v) = get("TEMPLATES_DIR") {
            self.templates_dir = Some(v.into());
        }
        if let Some(v) = get("TICK_SECONDS") {
            self.tick_seconds = parse("TICK_SECONDS", v)?;
        }
        if let Some(v) = get("PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("SESSION_IDLE_MINUTES") {
            self.session_idle_minutes = parse("SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = get("TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().map_err(|_| anyhow::anyhow!("TRUSTED_PROXIES: {s} is not an IP address")))
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(host) = get("SMTP_HOST") {
            let mut smtp = self.smtp.clone().unwrap_or(SmtpSettings {
                host: host.clone(),
                port: default_smtp_port(),
                tls: default_smtp_tls(),
                username: None,
                password: None,
                from: default_from(),
            });
            smtp.host = host;
            if let Some(v) = get("SMTP_PORT") {
                smtp.port = parse("SMTP_PORT", v)?;
            }
            if let Some(v) = get("SMTP_TLS") {
                smtp.tls = match v.as_str() {
                    "none" => SmtpTls::None,
                    "starttls" => SmtpTls::Starttls,
                    "tls" => SmtpTls::Tls,
                    _ => anyhow::bail!("SMTP_TLS must be none, starttls or tls"),
                };
            }
            if let Some(v) = get("SMTP_USERNAME") {
                smtp.username = Some(v);
            }
            if let Some(v) = get("SMTP_PASSWORD") {
                smtp.password = Some(Secret::new(v));
            }
            if let Some(v) = get("SMTP_FROM") {
                smtp.from = v;
            }
            self.smtp = Some(smtp);
        }
        Ok(())
    }

    /// The database URL to use: the configured one, or the default SQLite file.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            let path = self.data_dir.join("credit-repair.db");
            format!("sqlite://{}?mode=rwc", path.display())
        } else {
            self.database_url.clone()
        }
    }

    /// The sign-in throttle's rule (checked at start-up).
    pub fn login_rule(&self) -> Result<crate::domain::login_throttle::Rule, String> {
        crate::domain::login_throttle::Rule::new(self.login_max_failures, self.login_lock_minutes, &self.login_throttle)
    }

    /// True when running on the embedded default database.
    pub fn is_default_database(&self) -> bool {
        self.database_url.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults_and_secret_is_redacted() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "PORT" => Some("9090".into()),
            "JWT_SECRET" => Some("topsecret".into()),
            "SMTP_HOST" => Some("mail.local".into()),
            "SMTP_PORT" => Some("2525".into()),
            "TRUSTED_PROXIES" => Some("10.0.0.1, ::1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.port, 9090);
        assert_eq!(s.smtp.as_ref().unwrap().port, 2525);
        assert_eq!(s.trusted_proxies, vec!["10.0.0.1".parse::<std::net::IpAddr>().unwrap(), "::1".parse().unwrap()]);
        assert!(Settings::default().trusted_proxies.is_empty());
        Settings::default().login_rule().expect("the default sign-in rule is valid");
        assert!(!format!("{s:?}").contains("topsecret"));
        assert!(s.effective_database_url().starts_with("sqlite://"));
    }

    #[test]
    fn bad_port_is_an_error() {
        let mut s = Settings::default();
        assert!(s.apply_env(|k| (k == "PORT").then(|| "abc".to_string())).is_err());
        assert!(s.apply_env(|k| (k == "TRUSTED_PROXIES").then(|| "proxy.local".to_string())).is_err());
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    #[test]
    fn example_config_parses_and_its_rules_equal_the_defaults() {
        let s = Settings::from_file(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/credit-repair.example.toml")))
            .expect("example config parses");
        assert_eq!(s.port, 8080);
        assert_eq!(s.smtp.as_ref().map(|m| m.tls.clone()), Some(SmtpTls::Tls));
        assert_eq!(s.publication, PeriodRules::default());
        assert_eq!(s.repair_policy, Default::default(), "the limits are off unless configured");
        assert_eq!(s.delivery, Default::default(), "the example shows the delivery defaults");
        s.publication.validate().unwrap();
    }
}
