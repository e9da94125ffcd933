//! The enumerated values stored in the tables. Each one is a snake_case
//! string in the database and in JSON; in the code it is a type, so a value
//! outside the set cannot be written or compared by mistake.

use std::fmt;
use std::str::FromStr;

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares a string-valued enum with its stored value, `as_str`, `FromStr`,
/// `Display` and comparison with a string (handy in tests and filters).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize, utoipa::ToSchema)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $value)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored (and JSON) value.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value,)+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s { $($value => Ok($name::$variant),)+ _ => Err(UnknownValue(stringify!($name))) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }
    };
}

/// A string that is not one of an enum's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownValue(pub &'static str);

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a {} value", self.0)
    }
}

impl std::error::Error for UnknownValue {}

string_enum! {
    /// The two kinds of case.
    CaseKind {
        /// 异议: "this record is wrong".
        Objection = "objection",
        /// 信用修复: "stop publishing this".
        Repair = "repair",
    }
}

impl CaseKind {
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            CaseKind::Objection => "异议申请",
            CaseKind::Repair => "信用修复申请",
        }
    }

    /// Prefix of the case number (YY2026000123, XF2026000124).
    pub fn case_no_prefix(self) -> &'static str {
        match self {
            CaseKind::Objection => "YY",
            CaseKind::Repair => "XF",
        }
    }
}

string_enum! {
    /// Whether a record is shown to the public.
    PublicationStatus {
        Published = "published",
        /// Never published (e.g. 轻微 records, natural persons).
        NotPublished = "not_published",
        /// Publication ended (repair, objection outcome, or the window ran out).
        Ended = "ended",
    }
}

string_enum! {
    /// What an uploaded file is.
    AttachmentKind {
        /// 履行完毕证明
        FulfilmentProof = "fulfilment_proof",
        /// 信用承诺书
        CommitmentLetter = "commitment_letter",
        /// 证明材料
        Evidence = "evidence",
        /// 其他材料
        Other = "other",
    }
}

impl AttachmentKind {
    /// Chinese label.
    pub fn title_zh(self) -> &'static str {
        match self {
            AttachmentKind::FulfilmentProof => "履行完毕证明",
            AttachmentKind::CommitmentLetter => "信用承诺书",
            AttachmentKind::Evidence => "证明材料",
            AttachmentKind::Other => "其他材料",
        }
    }

    /// Materials only the applicant may supply.
    pub fn applicant_only(self) -> bool {
        matches!(self, AttachmentKind::FulfilmentProof | AttachmentKind::CommitmentLetter)
    }
}

string_enum! {
    /// The producing department's finding on an objection.
    Outcome {
        /// 更正
        Corrected = "corrected",
        /// 补充
        Supplemented = "supplemented",
        /// 删除
        Deleted = "deleted",
        /// 移出名单
        RemovedFromList = "removed_from_list",
        /// 维持
        Maintained = "maintained",
    }
}

impl Outcome {
    /// Chinese label.
    pub fn title_zh(self) -> &'static str {
        match self {
            Outcome::Corrected => "更正",
            Outcome::Supplemented => "补充",
            Outcome::Deleted => "删除",
            Outcome::RemovedFromList => "移出名单",
            Outcome::Maintained => "维持",
        }
    }
}

string_enum! {
    /// A deadline row counts one step, or the whole case.
    DeadlineKind {
        Step = "step",
        Total = "total",
    }
}

string_enum! {
    /// Where a deadline row stands.
    DeadlineStatus {
        Running = "running",
        /// The total clock while the applicant supplements materials.
        Paused = "paused",
        /// The step was left or the case closed.
        Met = "met",
    }
}

impl DeadlineStatus {
    /// Running or paused: the row still counts.
    pub const OPEN: [DeadlineStatus; 2] = [DeadlineStatus::Running, DeadlineStatus::Paused];
}

string_enum! {
    /// A sanction or a list membership is in force, or ended.
    ActiveStatus {
        Active = "active",
        Ended = "ended",
    }
}

string_enum! {
    /// A department produces records, or is the credit office.
    DepartmentKind {
        Producing = "producing",
        CreditOffice = "credit_office",
    }
}

string_enum! {
    /// What kind of credit subject.
    SubjectKind {
        LegalPerson = "legal_person",
        IndividualBusiness = "individual_business",
        OtherOrganisation = "other_organisation",
        /// Never shown to the public.
        NaturalPerson = "natural_person",
    }
}

string_enum! {
    /// Why an applicant says a record is wrong (异议理由).
    ObjectionGrounds {
        /// 主体身份有误: the record is about someone else.
        WrongIdentity = "wrong_identity",
        /// 信息内容有误: facts, dates, amounts or the document are wrong.
        WrongContent = "wrong_content",
        /// 超过公示期限仍在公示.
        PastPeriod = "past_period",
        /// 处罚决定已被撤销或变更.
        DecisionRevoked = "decision_revoked",
        /// 对信用修复决定有异议: contests a repair case's decision.
        RepairDecision = "repair_decision",
        /// 其他.
        Other = "other",
    }
}

impl ObjectionGrounds {
    /// Chinese label.
    pub fn title_zh(self) -> &'static str {
        match self {
            ObjectionGrounds::WrongIdentity => "主体身份信息有误",
            ObjectionGrounds::WrongContent => "信息内容有误",
            ObjectionGrounds::PastPeriod => "超过公示期限仍在公示",
            ObjectionGrounds::DecisionRevoked => "原处罚决定已被撤销或变更",
            ObjectionGrounds::RepairDecision => "对信用修复决定有异议",
            ObjectionGrounds::Other => "其他",
        }
    }
}

string_enum! {
    /// Where a record comes from.
    RecordSource {
        /// Produced by a department of this district and decided here.
        Local = "local",
        /// A market-regulation (SAMR) record mirrored here: its repair is
        /// decided on SAMR's own system.
        Samr = "samr",
    }
}

impl RecordSource {
    /// Chinese label.
    pub fn title_zh(self) -> &'static str {
        match self {
            RecordSource::Local => "本地归集",
            RecordSource::Samr => "市场监管部门（国家企业信用信息公示系统）",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        for k in CaseKind::ALL {
            assert_eq!(k.as_str().parse::<CaseKind>(), Ok(*k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for o in Outcome::ALL {
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(*o));
        }
        assert!("Repair".parse::<CaseKind>().is_err());
        assert!(PublicationStatus::Ended == "ended");
    }
}
