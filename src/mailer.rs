//! Delivering outbox rows: mail over SMTP (lettre) when configured, otherwise
//! written as .eml files under `data_dir/mail` so the demo shows them.
//! Downstream-sync messages go to subscribers (`services::deliveries`).

use std::path::PathBuf;

use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Settings, SmtpTls};
use crate::services::outbox::MailFile;
use entity::outbox;

pub enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Files(PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Where stored files (a mail's attachments) are read from.
    data_dir: PathBuf,
}

fn body(text: String) -> Body {
    // lettre picks the transfer encoding (base64 for mostly-Chinese text).
    Body::new(text)
}

impl Mailer {
    pub fn from_settings(s: &Settings) -> anyhow::Result<Mailer> {
        let (transport, from) = match &s.smtp {
            Some(smtp) => {
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone()).port(smtp.port);
                b = match smtp.tls {
                    SmtpTls::None => b.tls(Tls::None),
                    SmtpTls::Starttls => b.tls(Tls::Required(TlsParameters::new(smtp.host.clone())?)),
                    SmtpTls::Tls => b.tls(Tls::Wrapper(TlsParameters::new(smtp.host.clone())?)),
                };
                if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
                    b = b.credentials(Credentials::new(u.clone(), p.expose().to_string()));
                }
                (
                    Transport::Smtp(Box::new(b.timeout(Some(std::time::Duration::from_secs(20))).build())),
                    smtp.from.clone(),
                )
            }
            None => (Transport::Files(s.data_dir.join("mail")), "区信用办 <noreply@credit.local>".to_string()),
        };
        Ok(Mailer {
            transport,
            from: from.parse().map_err(|e| anyhow::anyhow!("invalid sender address {from}: {e}"))?,
            data_dir: s.data_dir.clone(),
        })
    }

    /// The message of a mail row; `files` are its attachments' bytes.
    fn message(&self, row: &outbox::Model, files: Vec<(MailFile, Vec<u8>)>) -> anyhow::Result<Message> {
        let to: Vec<String> = serde_json::from_str(&row.recipients)?;
        let mut b = Message::builder().from(self.from.clone()).subject(row.subject.clone());
        for addr in &to {
            b = b.to(addr.parse().map_err(|e| anyhow::anyhow!("invalid recipient {addr}: {e}"))?);
        }
        let text = MultiPart::alternative()
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body(row.body_text.clone())))
            .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(body(row.body_html.clone())));
        if files.is_empty() {
            return Ok(b.multipart(text)?);
        }
        let mut mixed = MultiPart::mixed().multipart(text);
        for (f, bytes) in files {
            let ct = ContentType::parse(&f.content_type)
                .map_err(|e| anyhow::anyhow!("content type {}: {e}", f.content_type))?;
            mixed = mixed.singlepart(Attachment::new(f.name).body(bytes, ct));
        }
        Ok(b.multipart(mixed)?)
    }

    /// Delivers one outbox row. An error means: try again later.
    pub async fn deliver(&self, row: &outbox::Model) -> anyhow::Result<()> {
        anyhow::ensure!(row.kind == "mail", "outbox row {} is not mail", row.id);
        let listed: Vec<MailFile> = serde_json::from_str(&row.attachments).unwrap_or_default();
        let mut files = Vec::new();
        for f in listed {
            let bytes = crate::services::blobs::get(&self.data_dir, &f.sha256).await?;
            files.push((f, bytes));
        }
        let msg = self.message(row, files)?;
        match &self.transport {
            Transport::Smtp(t) => {
                t.send(msg).await?;
            }
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("{:08}-{}.eml", row.id, row.template));
                tokio::fs::write(&path, msg.formatted()).await?;
            }
        }
        Ok(())
    }
}
