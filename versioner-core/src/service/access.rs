//! API keys and the answers to idempotent writes, kept in the store so that every server on
//! one database shares them.

use chrono::{TimeDelta, Utc};

use crate::access::{
    ApiKey, IDEMPOTENCY_TTL, IdempotencyRecord, NewApiKey, StoredAnswer, StoredApiKey, random_hex,
    sha256_hex, valid_key_name,
};
use crate::error::{Error, Result};
use crate::outbox::{EventType, NewEvent};
use crate::store::{self, LockScope};

use super::Versioner;
use crate::access::Role;

/// How often `last_used_at` is written for a busy key.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

impl Versioner {
    /// Creates an API key named `name` with `role`; returns its record and the key itself,
    /// which is shown once and never stored (only its SHA-256 is).
    ///
    /// # Errors
    /// `INVALID_INPUT` when the name is blank, too long or taken by an active key; `STORAGE`.
    pub fn create_api_key(&self, name: &str, role: Role) -> Result<NewApiKey> {
        let name = valid_key_name(name)?;
        let id = random_hex(4)?;
        let secret = format!("sk_vr_{id}_{}", random_hex(24)?);
        store::write(&*self.store, &LockScope::Global, |tx| {
            if tx.active_api_key(&name)?.is_some_and(|k| k.name == name) {
                return Err(Error::invalid(
                    "name",
                    format!("an active key is named `{name}`; revoke it or choose another name"),
                ));
            }
            let now = self.now();
            let key = ApiKey {
                id: id.clone(),
                name: name.clone(),
                role,
                prefix: format!("sk_vr_{id}"),
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            };
            tx.insert_api_key(&StoredApiKey::new(
                key.clone(),
                sha256_hex(secret.as_bytes()),
            ))?;
            tx.append_event(&NewEvent::of(EventType::ApiKeyCreated, now, &key.id, &key))?;
            Ok(NewApiKey {
                key,
                secret: secret.clone(),
            })
        })
    }

    /// Every API key (revoked ones too), oldest first; never a secret.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn api_keys(&self) -> Result<Vec<ApiKey>> {
        store::read(&*self.store, |tx| tx.api_keys())
    }

    /// Whether any key is active (a server with none refuses every request).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn has_active_api_keys(&self) -> Result<bool> {
        Ok(self.api_keys()?.iter().any(ApiKey::is_active))
    }

    /// Revokes the active key with this name or id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn revoke_api_key(&self, name_or_id: &str) -> Result<ApiKey> {
        let wanted = name_or_id.trim();
        store::write(&*self.store, &LockScope::Global, |tx| {
            let key = tx.active_api_key(wanted)?.ok_or_else(|| Error::NotFound {
                kind: "active API key",
                name: wanted.to_string(),
            })?;
            let now = self.now();
            tx.revoke_api_key(&key.id, now)?;
            let revoked = ApiKey {
                revoked_at: Some(now),
                ..key
            };
            tx.append_event(&NewEvent::of(
                EventType::ApiKeyRevoked,
                now,
                &revoked.id,
                &revoked,
            ))?;
            Ok(revoked)
        })
    }

    /// The active key whose secret is `secret`, if any; notes its use (to the minute).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn authenticate(&self, secret: &str) -> Result<Option<ApiKey>> {
        let hash = sha256_hex(secret.as_bytes());
        let Some(key) = store::read(&*self.store, |tx| tx.api_key_by_hash(&hash))? else {
            return Ok(None);
        };
        let now = self.now();
        if key
            .last_used_at
            .is_none_or(|t| now - t > LAST_USED_RESOLUTION)
        {
            store::write(&*self.store, &LockScope::Global, |tx| {
                tx.touch_api_key(&key.id, now)
            })?;
        }
        Ok(Some(key))
    }

    /// Imports keys kept elsewhere (a `versioner.db-server` file of an earlier version) when
    /// this store has none yet; returns how many were imported. Keys are imported with their
    /// hashes, so the same secrets keep working.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn import_api_keys(&self, keys: &[StoredApiKey]) -> Result<usize> {
        store::write(&*self.store, &LockScope::Global, |tx| {
            if !tx.api_keys()?.is_empty() {
                return Ok(0);
            }
            for k in keys {
                tx.insert_api_key(k)?;
            }
            Ok(keys.len())
        })
    }

    /// The idempotency record of `(scope, key)`, if one is younger than 24 hours.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn idempotency_record(&self, scope: &str, key: &str) -> Result<Option<IdempotencyRecord>> {
        let since = Utc::now() - IDEMPOTENCY_TTL;
        store::read(&*self.store, |tx| tx.idempotency_record(scope, key, since))
    }

    /// Keeps the answer sent to the idempotent write `(scope, key)` so a retry gets it again.
    /// A result recorded by the write itself is kept.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn save_idempotent_answer(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        answer: StoredAnswer,
    ) -> Result<()> {
        store::write(&*self.store, &LockScope::Global, |tx| {
            let now = self.now();
            tx.prune_idempotency(now - IDEMPOTENCY_TTL)?;
            let existing = tx.idempotency_record(scope, key, now - IDEMPOTENCY_TTL)?;
            let (result, created_at) = match existing {
                Some(r) if r.request_hash == request_hash => (r.result, r.created_at),
                _ => (None, now),
            };
            tx.put_idempotency_record(&IdempotencyRecord {
                scope: scope.to_string(),
                key: key.to_string(),
                request_hash: request_hash.to_string(),
                result,
                answer: Some(answer.clone()),
                created_at,
            })
        })
    }
}
