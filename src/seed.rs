//! Demo data for a newcomer: departments, accounts, enterprises and records
//! whose dates (relative to today) cover every repair situation. Seeded only
//! into an empty database.

use chrono::{Months, NaiveDate};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};

use crate::services::admin::records::derive_for;
use crate::state::AppState;
use entity::types::{ActiveStatus, RecordSource};
use entity::{department, list_membership, measure, sanction, subject, user};

/// A demo login: username, display name, role, department code, subject index.
pub type DemoUser = (&'static str, &'static str, &'static str, Option<&'static str>, Option<usize>);

/// Demo logins (all share the demo password). Listed in the README.
pub const DEMO_USERS: &[DemoUser] = &[
    ("admin", "系统管理员", "admin", Some("XYB"), None),
    ("office", "信用办 王科长", "credit_office", Some("XYB"), None),
    ("scjg", "区市场监管局 李经办", "department_officer", Some("SCJG"), None),
    ("sthj", "区生态环境分局 张经办", "department_officer", Some("STHJ"), None),
    ("yjgl", "区应急管理局 赵经办", "department_officer", Some("YJGL"), None),
    ("ent_a", "泉城示例建材有限公司", "applicant", None, Some(0)),
    ("ent_b", "泉城示例餐饮管理有限公司", "applicant", None, Some(1)),
    ("ent_c", "泉城示例物流有限公司", "applicant", None, Some(2)),
];

const DEPARTMENTS: &[(&str, &str, &str)] = &[
    ("XYB", "区社会信用体系建设办公室（区信用办）", "credit_office"),
    ("SCJG", "区市场监督管理局", "producing"),
    ("STHJ", "区生态环境分局", "producing"),
    ("YJGL", "区应急管理局", "producing"),
];

const SUBJECTS: &[(&str, &str, &str)] = &[
    ("91350100M000100Y43", "泉城示例建材有限公司", "legal_person"),
    ("91330100799655058B", "泉城示例餐饮管理有限公司", "legal_person"),
    ("9144030071526726XG", "泉城示例物流有限公司", "legal_person"),
    ("37010219850315123X", "张某某", "natural_person"),
];

const MEASURES: &[(&str, &str, &str)] = &[
    ("限制参与政府采购活动", "《中华人民共和国政府采购法》第二十二条", "区财政局"),
    ("限制申请财政性资金项目", "《山东省社会信用条例》第三十条", "区财政局"),
    ("列为重点监管对象，提高抽查比例和频次", "《山东省社会信用条例》第三十条", "区市场监督管理局"),
    ("限制参加评优评先", "《山东省社会信用条例》第三十条", "区人力资源和社会保障局"),
];

/// Seeds demo data when the database holds no departments and no users.
pub async fn seed_demo_if_empty(state: &AppState) -> anyhow::Result<bool> {
    let txn = state.db.begin().await?;
    if department::Entity::find().count(&txn).await? > 0 || user::Entity::find().count(&txn).await? > 0 {
        return Ok(false);
    }
    seed(state, &txn).await?;
    txn.commit().await?;
    tracing::info!("seeded demo data (demo password from DEMO_PASSWORD)");
    Ok(true)
}

struct RecordSpec {
    subject: usize,
    dept: &'static str,
    record_type: &'static str,
    title: &'static str,
    /// The regime is the one in force on the decision date (derived).
    severity: &'static str,
    source: RecordSource,
    months_ago: u32,
    doc: &'static str,
    sanctions: &'static [usize],
    list: Option<&'static str>,
}

const RECORDS: &[RecordSpec] = &[
    // Repairable now (current 一般, decided 5 months ago): the repair demo.
    RecordSpec {
        subject: 0,
        dept: "STHJ",
        record_type: "administrative_penalty",
        title: "超标排放大气污染物",
        severity: "general",
        source: RecordSource::Local,
        months_ago: 5,
        doc: "济高环罚〔2026〕12号",
        sanctions: &[0, 1],
        list: None,
    },
    // Not yet repairable (current 严重, decided 2 months ago).
    RecordSpec {
        subject: 0,
        dept: "YJGL",
        record_type: "administrative_penalty",
        title: "未按规定开展安全生产教育培训",
        severity: "serious",
        source: RecordSource::Local,
        months_ago: 2,
        doc: "济高应急罚〔2026〕31号",
        sanctions: &[2],
        list: None,
    },
    // A market-regulation (SAMR) list entry mirrored here (Order 58 严重,
    // 20 months ago): its repair is applied for on SAMR's own system.
    RecordSpec {
        subject: 1,
        dept: "SCJG",
        record_type: "serious_dishonesty_list",
        title: "生产经营不符合食品安全标准的食品被吊销许可证",
        severity: "serious",
        source: RecordSource::Samr,
        months_ago: 20,
        doc: "济高市监罚〔2025〕8号",
        sanctions: &[0, 3],
        list: Some("严重失信主体名单"),
    },
    // Not published (current 轻微).
    RecordSpec {
        subject: 1,
        dept: "SCJG",
        record_type: "administrative_penalty",
        title: "未按规定公示年度报告（警告）",
        severity: "minor",
        source: RecordSource::Local,
        months_ago: 1,
        doc: "济高市监简罚〔2026〕102号",
        sanctions: &[],
        list: None,
    },
    // Entered past its publication end (Order 58 一般, 40 months ago: three
    // years ran out): starts ended, never shown.
    RecordSpec {
        subject: 2,
        dept: "YJGL",
        record_type: "administrative_penalty",
        title: "未按规定设置安全警示标志",
        severity: "general",
        source: RecordSource::Local,
        months_ago: 40,
        doc: "济高应急罚〔2025〕77号",
        sanctions: &[],
        list: None,
    },
    // Repairable list entry with sanctions (Order 58 严重, 14 months ago): objection or repair demo.
    RecordSpec {
        subject: 2,
        dept: "STHJ",
        record_type: "serious_dishonesty_list",
        title: "篡改自动监测数据被列入严重失信主体名单",
        severity: "serious",
        source: RecordSource::Local,
        months_ago: 14,
        doc: "济高环罚〔2025〕40号",
        sanctions: &[1, 2],
        list: Some("严重失信主体名单"),
    },
    // A natural person's record: never in the public query.
    RecordSpec {
        subject: 3,
        dept: "SCJG",
        record_type: "administrative_penalty",
        title: "无证经营食品摊点",
        severity: "general",
        source: RecordSource::Local,
        months_ago: 4,
        doc: "济高市监罚〔2026〕55号",
        sanctions: &[],
        list: None,
    },
];

async fn seed(state: &AppState, txn: &DatabaseTransaction) -> anyhow::Result<()> {
    let now = state.clock.now();
    let today = state.clock.today();
    let mut dept_ids = std::collections::HashMap::new();
    for (code, name, kind) in DEPARTMENTS {
        let d = department::ActiveModel {
            code: Set(code.to_string()),
            name: Set(name.to_string()),
            kind: Set(kind.parse()?),
            email: Set(Some(format!("{}@credit.local", code.to_lowercase()))),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        dept_ids.insert(*code, d.id);
    }
    let mut subject_ids = Vec::new();
    for (code, name, kind) in SUBJECTS {
        let s = subject::ActiveModel {
            code: Set(code.to_string()),
            name: Set(name.to_string()),
            kind: Set(kind.parse()?),
            check_overridden: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        subject_ids.push(s.id);
    }
    let password = state.settings.demo_password.expose().to_string();
    for (username, display, role, dept, subj) in DEMO_USERS {
        let hash = crate::auth::hash_password(password.clone()).await?;
        user::ActiveModel {
            username: Set(username.to_string()),
            display_name: Set(display.to_string()),
            password_hash: Set(hash),
            role: Set(role.to_string()),
            department_id: Set(dept.and_then(|c| dept_ids.get(c).copied())),
            subject_id: Set(subj.map(|i| subject_ids[i])),
            email: Set(Some(format!("{username}@demo.local"))),
            active: Set(true),
            failed_logins: Set(0),
            locked_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let mut measure_ids = Vec::new();
    for (name, basis, dept) in MEASURES {
        let m = measure::ActiveModel {
            name: Set(name.to_string()),
            legal_basis: Set(basis.to_string()),
            implementing_department: Set(dept.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        measure_ids.push(m.id);
    }
    for spec in RECORDS {
        insert_record(state, txn, spec, today, &dept_ids, &subject_ids, &measure_ids).await?;
    }
    Ok(())
}

async fn insert_record<C: ConnectionTrait>(
    state: &AppState,
    txn: &C,
    spec: &RecordSpec,
    today: NaiveDate,
    dept_ids: &std::collections::HashMap<&str, i64>,
    subject_ids: &[i64],
    measure_ids: &[i64],
) -> anyhow::Result<()> {
    let now = state.clock.now();
    let decision = today.checked_sub_months(Months::new(spec.months_ago)).unwrap_or(today) - chrono::Duration::days(3);
    // SAMR publishes a week after its decision and counts from publication.
    let published_on = (spec.source == RecordSource::Samr).then(|| decision + chrono::Duration::days(7));
    let start = crate::domain::period::window_start(spec.source, decision, published_on);
    let (regime, derived) = derive_for(&state.settings.publication, None, spec.severity, decision, start, None)
        .map_err(|e| anyhow::anyhow!("demo record rules: {e:?}"))?;
    let natural_person = SUBJECTS[spec.subject].2 == "natural_person";
    let initial = crate::domain::period::initial_status(
        &derived,
        None,
        natural_person,
        today,
        state.settings.publication.publication_end,
    )
    .map_err(|e| anyhow::anyhow!("demo record status: {e:?}"))?;
    let new = crate::services::admin::records::NewRecord {
        subject_id: subject_ids[spec.subject],
        record_type: spec.record_type.into(),
        title: spec.title.into(),
        content: format!("{}。处罚依据见决定书 {}。", spec.title, spec.doc),
        severity: spec.severity.into(),
        regime,
        department_id: dept_ids[spec.dept],
        document_no: spec.doc.into(),
        decision_date: decision,
        conduct_end_date: Some(decision),
        source: spec.source,
        published_on,
    };
    let r = crate::services::admin::records::new_record_row(new, &derived, initial, now).insert(txn).await?;
    for m in spec.sanctions {
        sanction::ActiveModel {
            record_id: Set(r.id),
            measure_id: Set(measure_ids[*m]),
            status: Set(ActiveStatus::Active),
            started_on: Set(decision),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    if let Some(list) = spec.list {
        list_membership::ActiveModel {
            record_id: Set(r.id),
            subject_id: Set(r.subject_id),
            list_name: Set(list.into()),
            status: Set(ActiveStatus::Active),
            listed_on: Set(decision),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}
