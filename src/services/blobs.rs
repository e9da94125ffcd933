//! Stored files (attachments, issued documents): kept under their SHA-256 in
//! the data directory, written whole or not at all, never under a client's
//! file name.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Where the blob with this SHA-256 (lowercase hex) lives under `data_dir`.
pub fn path(data_dir: &Path, sha: &str) -> PathBuf {
    data_dir.join("attachments").join(sha.get(..2).unwrap_or("00")).join(sha)
}

/// Stores `bytes` (once: the same content is the same file) and returns its SHA-256.
pub async fn put(data_dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    let sha = hex::encode(Sha256::digest(bytes));
    let path = path(data_dir, &sha);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        let dir = path.parent().ok_or_else(|| anyhow::anyhow!("bad blob path"))?;
        tokio::fs::create_dir_all(dir).await?;
        // Write to a temporary name, then rename: never a half-written blob.
        let tmp = dir.join(format!("{sha}.{}.tmp", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
    }
    Ok(sha)
}

/// The stored bytes of a blob.
pub async fn get(data_dir: &Path, sha: &str) -> anyhow::Result<Vec<u8>> {
    Ok(tokio::fs::read(path(data_dir, sha)).await?)
}
