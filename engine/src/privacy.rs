//! Erasure that keeps the chain: the personal data in a request's events is sealed with a key
//! of its applicant's own (envelope encryption), kept in a keyring apart from the event store.
//! Erasing the applicant deletes the key: their data is then unreadable everywhere the events
//! went (the store, its backups, exports, receipts), while every hash chain, checkpoint and
//! receipt still verifies, because hashes cover the sealed text, which does not change.
//!
//! - Which events are sealed: those that can carry personal data ([`Event::personal`]); the
//!   rest (steps, statuses, tasks' roles, timers, the outcome) stay readable, so an erased
//!   request still shows its path, when and how it ended, and that it was erased.
//! - The applicant: the subject of the token they filed with, so one erasure reaches all their
//!   requests; a request filed without one (a portal's token) is its own applicant.
//! - The cipher: XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`, audited and kept), a
//!   random 192-bit nonce per event, and the stream's id as associated data, so a sealed
//!   payload copied into another request does not open.
//! - The keyring: an SQLite file of its own (`serve --keyring FILE`), never inside the event
//!   store's database, so that a backup of the store holds no key. Erasing overwrites the
//!   key's bytes in the file (`secure_delete`) and keeps a row saying when and under what
//!   authority. The keyring's own backups are the operator's to keep short (docs/audit.md).

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{ConnectOptions, Row};

use crate::events::{Event, StreamId};

/// A sealed payload as stored: the event's type stays in the clear (the store's `type` column
/// is checked against it), the rest is the ciphertext of the whole payload.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    #[serde(rename = "type")]
    kind: String,
    sealed: Envelope,
}

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// The key's id (random, not the applicant: the id is stored with every event).
    key: String,
    nonce: String,
    data: String,
}

/// Why the keyring failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The keyring file could not be opened, read or written.
    #[error("keyring: {0}")]
    Io(String),
    /// A sealed payload did not open with its key: it was altered or moved to another stream.
    #[error("a sealed payload does not open with its key: {0}")]
    Broken(String),
}

fn io(e: impl std::fmt::Display) -> KeyringError {
    KeyringError::Io(e.to_string())
}

/// An applicant's key, as the keyring holds it in memory.
#[derive(Clone)]
struct Key {
    id: String,
    /// `None` once erased.
    bytes: Option<[u8; 32]>,
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The key's id.
    pub key: String,
    /// When the key was erased (the first time, when it was erased before).
    pub erased_at: DateTime<Utc>,
    /// Whether this call erased it (false: it was erased before).
    pub now: bool,
}

/// The applicants' keys of one node: a file, and its rows in memory so that sealing and
/// opening a payload never waits for a query.
pub struct Keyring {
    pool: SqlitePool,
    /// By key id.
    keys: RwLock<HashMap<String, Option<[u8; 32]>>>,
    /// By (agency, applicant).
    applicants: RwLock<HashMap<(String, String), Key>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("Keyring")
            .field("keys", &self.keys.read().map(|k| k.len()).unwrap_or(0))
            .finish()
    }
}

/// The applicant a stream's key belongs to: the token's subject they filed with, else the
/// request itself.
pub fn applicant(stream: &StreamId, filed_by: Option<&str>) -> String {
    match filed_by {
        Some(subject) => format!("subject:{subject}"),
        None => format!("request:{}", stream.instance),
    }
}

impl Keyring {
    /// Opens (creating when missing) the keyring file at `path`.
    pub async fn open(path: &Path) -> Result<Self, KeyringError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            // A key is on disk before the first event it sealed is.
            .synchronous(SqliteSynchronous::Full)
            // Erasing overwrites the key's bytes instead of leaving them in a free page.
            .pragma("secure_delete", "ON")
            .disable_statement_logging();
        let pool = sqlx::pool::PoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(io)?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS applicant_keys (
                id TEXT PRIMARY KEY,
                agency TEXT NOT NULL,
                applicant TEXT,
                key BLOB,
                created_at TEXT NOT NULL,
                erased_at TEXT,
                authority TEXT,
                erased_by TEXT
            )",
        )
        .execute(&pool)
        .await
        .map_err(io)?;
        sqlx::query(
            "CREATE UNIQUE INDEX IF NOT EXISTS applicant_keys_by_applicant \
             ON applicant_keys (agency, applicant)",
        )
        .execute(&pool)
        .await
        .map_err(io)?;
        let rows: Vec<sqlx::sqlite::SqliteRow> =
            sqlx::query("SELECT id, agency, applicant, key FROM applicant_keys")
                .fetch_all(&pool)
                .await
                .map_err(io)?;
        let mut keys = HashMap::with_capacity(rows.len());
        let mut applicants = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.get(0);
            let agency: String = row.get(1);
            let who: Option<String> = row.get(2);
            let bytes: Option<Vec<u8>> = row.get(3);
            let bytes = bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
            keys.insert(id.clone(), bytes);
            if let Some(who) = who {
                applicants.insert((agency, who), Key { id, bytes });
            }
        }
        Ok(Keyring {
            pool,
            keys: RwLock::new(keys),
            applicants: RwLock::new(applicants),
        })
    }

    /// The key of an applicant of an agency, made (and written to the file) when they have
    /// none; `None` when their key was erased: nothing of theirs may be sealed again.
    pub async fn ensure(
        &self,
        agency: &str,
        applicant: &str,
    ) -> Result<Option<String>, KeyringError> {
        let who = (agency.to_owned(), applicant.to_owned());
        if let Some(k) = self.applicants.read().expect("keyring lock").get(&who) {
            return Ok(k.bytes.map(|_| k.id.clone()));
        }
        let key: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
        let id = format!("k-{}", hex::encode(rand::random::<[u8; 12]>()));
        // Two commands of one applicant can race here: the unique index keeps the first key,
        // and both read it back.
        sqlx::query(
            "INSERT INTO applicant_keys (id, agency, applicant, key, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (agency, applicant) DO NOTHING",
        )
        .bind(&id)
        .bind(agency)
        .bind(applicant)
        .bind(key.as_slice())
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await
        .map_err(io)?;
        let row =
            sqlx::query("SELECT id, key FROM applicant_keys WHERE agency = ? AND applicant = ?")
                .bind(agency)
                .bind(applicant)
                .fetch_one(&self.pool)
                .await
                .map_err(io)?;
        let id: String = row.get(0);
        let bytes: Option<Vec<u8>> = row.get(1);
        let bytes = bytes.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok());
        self.keys
            .write()
            .expect("keyring lock")
            .insert(id.clone(), bytes);
        self.applicants.write().expect("keyring lock").insert(
            who,
            Key {
                id: id.clone(),
                bytes,
            },
        );
        Ok(bytes.map(|_| id))
    }

    /// Erases an applicant's key under an authority: from the file (its bytes overwritten) and
    /// from memory. Erasing twice keeps the first erasure's time and authority.
    pub async fn erase(
        &self,
        agency: &str,
        applicant: &str,
        authority: &str,
        by: &str,
    ) -> Result<Option<Erasure>, KeyringError> {
        let row = sqlx::query(
            "SELECT id, erased_at FROM applicant_keys WHERE agency = ? AND applicant = ?",
        )
        .bind(agency)
        .bind(applicant)
        .fetch_optional(&self.pool)
        .await
        .map_err(io)?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.get(0);
        let before: Option<String> = row.get(1);
        let (erased_at, now) = match before {
            Some(at) => (
                DateTime::parse_from_rfc3339(&at)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(io)?,
                false,
            ),
            None => {
                let at = Utc::now();
                // The applicant's name stays as a hash-free tombstone: `erased:` and the key's
                // id, so that the unique index still holds and nothing names them.
                sqlx::query(
                    "UPDATE applicant_keys SET key = NULL, applicant = 'erased:' || id, \
                     erased_at = ?, authority = ?, erased_by = ? WHERE id = ?",
                )
                .bind(at.to_rfc3339())
                .bind(authority)
                .bind(by)
                .bind(&id)
                .execute(&self.pool)
                .await
                .map_err(io)?;
                // The freed pages are overwritten by secure_delete; VACUUM also drops the
                // rollback journal's copy.
                sqlx::query("VACUUM")
                    .execute(&self.pool)
                    .await
                    .map_err(io)?;
                (at, true)
            }
        };
        self.keys
            .write()
            .expect("keyring lock")
            .insert(id.clone(), None);
        self.applicants
            .write()
            .expect("keyring lock")
            .remove(&(agency.to_owned(), applicant.to_owned()));
        Ok(Some(Erasure {
            key: id,
            erased_at,
            now,
        }))
    }

    /// Seals an event's stored payload text with a key, for `stream`.
    pub fn seal(&self, key: &str, stream: &StreamId, event: &Event, payload: &str) -> String {
        let bytes = self
            .keys
            .read()
            .expect("keyring lock")
            .get(key)
            .copied()
            .flatten()
            .expect("a key ensured before sealing");
        let cipher = XChaCha20Poly1305::new(&bytes.into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = stream.to_string();
        let data = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: payload.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 seals any length");
        serde_json::to_string(&Sealed {
            kind: event.kind().to_owned(),
            sealed: Envelope {
                key: key.to_owned(),
                nonce: B64.encode(nonce),
                data: B64.encode(data),
            },
        })
        .expect("JSON serializes")
    }

    /// Opens a stored payload: `Ok(Some(text))` with the payload as it was sealed (or as it was
    /// stored, when it was never sealed), `Ok(None)` when its key was erased.
    pub fn open_payload(
        &self,
        stream: &StreamId,
        stored: &str,
    ) -> Result<Option<String>, KeyringError> {
        let Some(sealed) = sealed(stored) else {
            return Ok(Some(stored.to_owned()));
        };
        let key = self
            .keys
            .read()
            .expect("keyring lock")
            .get(&sealed.sealed.key)
            .copied();
        let Some(Some(bytes)) = key else {
            // Erased, or a key this keyring never held (a store moved without its keyring):
            // either way unreadable here.
            return Ok(None);
        };
        let broken = |e: &dyn std::fmt::Display| KeyringError::Broken(e.to_string());
        let nonce = B64.decode(&sealed.sealed.nonce).map_err(|e| broken(&e))?;
        let data = B64.decode(&sealed.sealed.data).map_err(|e| broken(&e))?;
        let nonce: [u8; 24] = nonce
            .try_into()
            .map_err(|_| broken(&"the nonce is not 24 bytes"))?;
        let cipher = XChaCha20Poly1305::new(&bytes.into());
        let aad = stream.to_string();
        let text = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &data,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|e| broken(&e))?;
        String::from_utf8(text).map(Some).map_err(|e| broken(&e))
    }

    /// How many keys the keyring holds, erased ones included.
    pub fn len(&self) -> usize {
        self.keys.read().expect("keyring lock").len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sealed form of a stored payload, if it is one.
fn sealed(stored: &str) -> Option<Sealed> {
    // Cheap test first: every payload is read through here.
    if !stored.contains("\"sealed\":{") {
        return None;
    }
    serde_json::from_str(stored).ok()
}

/// Whether a stored payload is sealed, and the event type it says it is.
pub fn sealed_kind(stored: &str) -> Option<String> {
    sealed(stored).map(|s| s.kind)
}
