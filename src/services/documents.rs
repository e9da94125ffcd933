//! Formal documents (文书): issued by the transition that decides them, in
//! its transaction — numbered from a gap-free sequence, rendered to PDF
//! (`credit_documents`), stored under their SHA-256 and never regenerated —
//! then listed and downloaded with the case's scope, and checked by anyone
//! with the number and the verification code printed on them.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::documents::chinese_date;
use crate::error::{ApiError, ApiResult};
use crate::services::blobs;
use crate::services::cases::find_in_scope;
use crate::services::outbox::MailFile;
use crate::state::AppState;
use entity::{case, document};

/// A document just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub sha256: String,
    pub verify_code: String,
    /// The stored row.
    pub row: document::Model,
}

impl Issued {
    /// The document as a mail attachment.
    pub fn as_mail_file(&self) -> MailFile {
        MailFile { name: file_name(&self.title, &self.number), sha256: self.sha256.clone(), content_type: PDF.into() }
    }
}

const PDF: &str = "application/pdf";

/// The file name a document is handed out under: its title and number.
pub fn file_name(title: &str, number: &str) -> String {
    format!("{title}（{number}）.pdf")
}

/// The next number in `prefix`'s sequence for `year`, inside the caller's
/// transaction: the row lock held until commit makes numbers gap-free (a
/// rolled-back decision gives its number back) and unique across replicas.
async fn next_seq<C: ConnectionTrait>(db: &C, prefix: &str, year: i32) -> ApiResult<i32> {
    // One statement: the year's first number, or the next one.
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            r#"INSERT INTO document_sequences (prefix, year, "last") VALUES ($1, $2, 1)
               ON CONFLICT (prefix, year) DO UPDATE SET "last" = document_sequences."last" + 1 RETURNING "last""#
        }
        _ => {
            r#"INSERT INTO document_sequences (prefix, year, "last") VALUES (?, ?, 1)
               ON CONFLICT (prefix, year) DO UPDATE SET "last" = document_sequences."last" + 1 RETURNING "last""#
        }
    };
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(backend, sql, [prefix.into(), year.into()]))
        .await?
        .ok_or_else(|| anyhow::anyhow!("document sequence {prefix} {year} missing"))?;
    Ok(row.try_get_by_index::<i32>(0)?)
}

/// A short code printed on the document; with the number it proves the
/// document genuine on the verify page.
fn verify_code() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase()
}

/// Renders the letter; a character the embedded font lacks is written as
/// its code point ([U+20BB7]) rather than failing the decision, and logged.
fn render_pdf(letter: credit_documents::Letter) -> ApiResult<Vec<u8>> {
    match credit_documents::render(&letter) {
        Ok(bytes) => Ok(bytes),
        Err(credit_documents::DocumentError::MissingGlyphs(missing)) => {
            let chars: Vec<char> = missing.iter().map(|m| m.ch).collect();
            tracing::warn!(?chars, number = %letter.number, "document text has characters outside the font");
            let fix = |s: &str| -> String {
                s.chars()
                    .map(|c| if chars.contains(&c) { format!("[U+{:04X}]", c as u32) } else { c.to_string() })
                    .collect()
            };
            let fixed = credit_documents::Letter {
                title: fix(&letter.title),
                number: fix(&letter.number),
                addressee: letter.addressee.as_deref().map(fix),
                paragraphs: letter.paragraphs.iter().map(|p| fix(p)).collect(),
                issuer: fix(&letter.issuer),
                date: fix(&letter.date),
                verification: fix(&letter.verification),
            };
            credit_documents::render(&fixed).map_err(|e| anyhow::anyhow!("document: {e}").into())
        }
        Err(e) => Err(anyhow::anyhow!("document: {e}").into()),
    }
}

/// Issues `letter` for case `c` with the letter context `ctx`, inside the
/// caller's transaction.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    letter: &str,
    c: &case::Model,
    ctx: &Value,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<Issued> {
    let settings = &state.settings.documents;
    let prefix = settings.prefix(letter);
    let year = today.year();
    let code = verify_code();
    let text = state.templates.render_letter(letter, ctx)?;
    // The number last: its sequence row stays locked until the transaction ends.
    let seq = next_seq(db, &prefix, year).await?;
    let number = settings.number(&prefix, year, seq);
    let verification = format!(
        "核验：案件编号 {} · 校验码 {} · 可在 {}/verify 查验本文书真伪",
        c.case_no, code, state.settings.public_url
    );
    let pdf = render_pdf(credit_documents::Letter {
        title: text.title.clone(),
        number: number.clone(),
        addressee: Some(text.addressee).filter(|a| !a.is_empty()),
        paragraphs: text.paragraphs,
        issuer: settings.issuer.clone(),
        date: chinese_date(today),
        verification,
    })?;
    let sha256 = blobs::put(&state.settings.data_dir, &pdf).await?;
    let row = document::ActiveModel {
        case_id: Set(c.id),
        letter: Set(letter.to_string()),
        number: Set(number.clone()),
        prefix: Set(prefix),
        year: Set(year),
        seq: Set(seq),
        title: Set(text.title.clone()),
        sha256: Set(sha256.clone()),
        size: Set(pdf.len() as i64),
        verify_code: Set(code.clone()),
        issued_on: Set(today),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Issued { id: row.id, number, title: text.title, sha256, verify_code: code, row })
}

/// A document as the case's parties see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: i64,
    pub letter: String,
    pub title: String,
    /// 文号
    pub number: String,
    pub issued_on: NaiveDate,
    pub sha256: String,
    pub size: i64,
    pub verify_code: String,
    pub download_url: String,
}

pub(crate) fn view(d: document::Model) -> DocumentView {
    DocumentView {
        download_url: format!("/api/v1/cases/{}/documents/{}", d.case_id, d.id),
        id: d.id,
        letter: d.letter,
        title: d.title,
        number: d.number,
        issued_on: d.issued_on,
        sha256: d.sha256,
        size: d.size,
        verify_code: d.verify_code,
    }
}

/// The documents of a case (oldest first), read with any connection.
pub async fn of_case<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<Vec<DocumentView>> {
    Ok(rows_of_case(db, case_id).await?.into_iter().map(view).collect())
}

/// The document rows of a case (oldest first).
pub async fn rows_of_case<C: ConnectionTrait>(db: &C, case_id: i64) -> ApiResult<Vec<document::Model>> {
    Ok(document::Entity::find()
        .filter(document::Column::CaseId.eq(case_id))
        .order_by_asc(document::Column::Id)
        .all(db)
        .await?)
}

/// The documents of a case the caller may see.
pub async fn list(state: &AppState, user: &AuthUser, case_id: i64) -> ApiResult<Vec<DocumentView>> {
    find_in_scope(&state.read, user, case_id).await?;
    of_case(&state.read, case_id).await
}

/// A document's PDF, if the caller may see its case: (file name, bytes).
pub async fn download(state: &AppState, user: &AuthUser, case_id: i64, id: i64) -> ApiResult<(String, Vec<u8>)> {
    find_in_scope(&state.read, user, case_id).await?;
    let d = document::Entity::find_by_id(id)
        .filter(document::Column::CaseId.eq(case_id))
        .one(&state.read)
        .await?
        .ok_or_else(|| ApiError::not_found("文书"))?;
    let bytes = blobs::get(&state.settings.data_dir, &d.sha256).await?;
    Ok((file_name(&d.title, &d.number), bytes))
}

/// What the public learns about a genuine document: enough to compare with
/// the paper in hand, nothing more.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub genuine: bool,
    pub number: String,
    pub title: String,
    pub issued_on: NaiveDate,
    pub issuer: String,
    pub case_no: String,
    /// The addressee (an enterprise's name; a natural person's is masked).
    pub addressee: String,
    /// SHA-256 of the issued PDF: a copy with the same hash is the original file.
    pub sha256: String,
}

/// Checks a document file: genuine when its SHA-256 is that of a document
/// this office issued (any change to the file changes the hash).
pub async fn verify_file(state: &AppState, bytes: &[u8]) -> ApiResult<Verification> {
    use sha2::{Digest, Sha256};
    if bytes.is_empty() {
        return Err(ApiError::field("file", "empty_file", "请上传要核验的文书文件"));
    }
    let sha = hex::encode(Sha256::digest(bytes));
    let d = document::Entity::find()
        .filter(document::Column::Sha256.eq(sha))
        .order_by_asc(document::Column::Id)
        .one(&state.read)
        .await?
        .ok_or_else(|| ApiError::not_found("文书"))?;
    verify(state, &d.number, &d.verify_code).await
}

/// Checks a number and verification code (case-insensitive code).
pub async fn verify(state: &AppState, number: &str, code: &str) -> ApiResult<Verification> {
    let number = number.trim();
    let code = code.trim().to_uppercase();
    if number.is_empty() || number.chars().count() > 100 || code.is_empty() || code.len() > 32 {
        return Err(ApiError::field("number", "invalid_value", "请填写文号和校验码"));
    }
    let d = document::Entity::find()
        .filter(document::Column::Number.eq(number))
        .one(&state.read)
        .await?
        .filter(|d| d.verify_code == code)
        .ok_or_else(|| ApiError::not_found("文书"))?;
    let c = case::Entity::find_by_id(d.case_id).one(&state.read).await?.ok_or_else(|| ApiError::not_found("文书"))?;
    let subject = entity::subject::Entity::find_by_id(c.subject_id).one(&state.read).await?;
    let addressee = match subject {
        Some(s) if s.kind == entity::types::SubjectKind::NaturalPerson => {
            let mut chars = s.name.chars();
            chars.next().map(|first| format!("{first}{}", "*".repeat(chars.count()))).unwrap_or_default()
        }
        Some(s) => s.name,
        None => String::new(),
    };
    Ok(Verification {
        genuine: true,
        number: d.number,
        title: d.title,
        issued_on: d.issued_on,
        issuer: state.settings.documents.issuer.clone(),
        case_no: c.case_no,
        addressee,
        sha256: d.sha256,
    })
}
