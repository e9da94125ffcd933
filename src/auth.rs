//! Passwords (argon2id with OWASP parameters), access tokens (HS256 JWT) and
//! the authenticated caller. The extractor that admits a caller to a route
//! is the HTTP edge's (`api::guard`).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::workflow::Role;

/// Password hashes computed at a time. Each argon2 hash fills a 19 MiB
/// block array: unbounded, 8 concurrent logins hold 8 × 19 MiB at once.
/// Two keep both cores busy; further logins wait their turn.
const CONCURRENT_HASHES: usize = 2;

static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> =
    std::sync::LazyLock::new(|| tokio::sync::Semaphore::new(CONCURRENT_HASHES));

/// Hashes a password with argon2id (m=19 MiB, t=2, p=1: the OWASP baseline,
/// which is also the crate's default). Runs on the blocking pool, at most
/// [`CONCURRENT_HASHES`] at a time.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    let _permit = HASHING.acquire().await?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await?
}

/// Verifies a password against a stored PHC string. A malformed hash is a
/// mismatch. At most [`CONCURRENT_HASHES`] at a time, as hashing.
pub async fn verify_password(password: String, phc: String) -> bool {
    let Ok(_permit) = HASHING.acquire().await else { return false };
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), phc.as_str()).is_ok())
        .await
        .unwrap_or(false)
}

/// Makes glibc map large allocations (1 MiB and up) on their own and unmap
/// them when freed. By default its mmap threshold rises to the size of
/// the largest block freed so far (up to 32 MiB), so after the first argon2
/// hash every further 19 MiB block array comes from a thread's arena and
/// stays resident when freed: a server that seeded or signed in a few
/// users at once kept 150–300 MB for good. A fixed threshold costs a mapping
/// and its page faults per hash (well under the hash's own time) and leaves
/// idle memory where it was before the logins. Call once at start-up.
pub fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        /// `M_MMAP_THRESHOLD` in glibc's `<malloc.h>`.
        const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
        unsafe extern "C" {
            fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
        }
        // SAFETY: mallopt only changes glibc's allocation policy; it takes
        // the allocator's own lock and is safe to call at any time.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

/// Password policy for new passwords: at least 10 characters, at most 128,
/// and at least three of: lower case, upper case, digits, symbols.
pub fn check_password_policy(password: &str, username: &str) -> Result<(), ApiError> {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if !(10..=128).contains(&len) {
        return Err(ApiError::field("password", "password_length", "密码长度须为 10 至 128 个字符"));
    }
    if classes < 3 {
        return Err(ApiError::field(
            "password",
            "password_too_simple",
            "密码须包含大写字母、小写字母、数字、符号中的至少三类",
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err(ApiError::field("password", "password_contains_username", "密码不得包含用户名"));
    }
    Ok(())
}

/// SHA-256 hex of a token, as stored for refresh tokens.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random opaque token (256 bits, hex).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: i64,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    pub fn issue(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the injectable clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|_| {
            ApiError::Unauthorized { code: "token_invalid", message: "登录凭证无效，请重新登录".into() }
        })?;
        if data.claims.exp <= now {
            return Err(ApiError::Unauthorized {
                code: "token_expired",
                message: "登录已过期，请刷新或重新登录".into(),
            });
        }
        Ok(data.claims)
    }
}

/// The authenticated caller, loaded fresh from the database on each request
/// so that a deactivated account or a changed department takes effect at once.
/// Services take it to scope what they read and write.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub department_id: Option<i64>,
    pub subject_id: Option<i64>,
}

impl AuthUser {
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::CreditOffice | Role::Admin)
    }
}

/// Who may call a route, by role; both edges (the JSON API's `Guarded<P>`
/// and the pages' `Signed<P>`) admit callers by these.
pub mod policy {
    use crate::workflow::Role;

    /// A rule on the caller's role.
    pub trait Policy {
        fn allows(role: Role) -> bool;
    }

    /// Any signed-in user; what they see is then limited by scope.
    pub struct AnyUser;
    /// An enterprise applicant.
    pub struct ApplicantOnly;
    /// Someone who works on cases: applicant, department officer, credit office
    /// (not an administrator, who manages accounts and data).
    pub struct CaseParty;
    /// The credit office or an administrator.
    pub struct Staff;
    /// Those who answer for records: a department officer (its own
    /// department's records, by scope) or the credit office.
    pub struct RecordKeeper;
    /// An administrator.
    pub struct AdminOnly;
    /// Those who bring records in by bulk import: a department officer (for
    /// its own department) or an administrator (for any producing one).
    pub struct Importer;

    impl Policy for AnyUser {
        fn allows(role: Role) -> bool {
            role != Role::System
        }
    }
    impl Policy for ApplicantOnly {
        fn allows(role: Role) -> bool {
            role == Role::Applicant
        }
    }
    impl Policy for CaseParty {
        fn allows(role: Role) -> bool {
            matches!(role, Role::Applicant | Role::DepartmentOfficer | Role::CreditOffice)
        }
    }
    impl Policy for Staff {
        fn allows(role: Role) -> bool {
            matches!(role, Role::CreditOffice | Role::Admin)
        }
    }
    impl Policy for RecordKeeper {
        fn allows(role: Role) -> bool {
            matches!(role, Role::DepartmentOfficer | Role::CreditOffice)
        }
    }
    impl Policy for AdminOnly {
        fn allows(role: Role) -> bool {
            role == Role::Admin
        }
    }
    impl Policy for Importer {
        fn allows(role: Role) -> bool {
            matches!(role, Role::DepartmentOfficer | Role::Admin)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn policies() {
            let all = [Role::Applicant, Role::DepartmentOfficer, Role::CreditOffice, Role::Admin, Role::System];
            let allowed = |f: fn(Role) -> bool| all.iter().copied().filter(|r| f(*r)).collect::<Vec<_>>();
            assert_eq!(allowed(AnyUser::allows).len(), 4);
            assert_eq!(allowed(ApplicantOnly::allows), [Role::Applicant]);
            assert_eq!(allowed(CaseParty::allows), [Role::Applicant, Role::DepartmentOfficer, Role::CreditOffice]);
            assert_eq!(allowed(Staff::allows), [Role::CreditOffice, Role::Admin]);
            assert_eq!(allowed(AdminOnly::allows), [Role::Admin]);
            assert_eq!(allowed(Importer::allows), [Role::DepartmentOfficer, Role::Admin]);
            assert_eq!(allowed(RecordKeeper::allows), [Role::DepartmentOfficer, Role::CreditOffice]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short1A!", "u").is_err());
        assert!(check_password_policy("alllowercaseletters", "u").is_err());
        assert!(check_password_policy("Abcdefgh12", "zhang").is_ok());
        assert!(check_password_policy("Zhang#12345", "zhang").is_err());
    }

    #[test]
    fn jwt_roundtrip_and_expiry() {
        let keys = JwtKeys::new(b"secret");
        let t = keys.issue(&Claims { sub: 7, role: "admin".into(), exp: 100, iat: 0 }).unwrap();
        assert_eq!(keys.verify(&t, 50).unwrap().sub, 7);
        assert_eq!(keys.verify(&t, 100).unwrap_err().code(), "token_expired");
        assert_eq!(JwtKeys::new(b"other").verify(&t, 50).unwrap_err().code(), "token_invalid");
    }
}
