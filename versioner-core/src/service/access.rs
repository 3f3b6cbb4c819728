//! Who may do what: principals, their API keys and roles, the actor of every write, and the
//! answers to idempotent writes. All of it is kept in the store, so every server on one
//! database shares it.
//!
//! The actor of a write is settled here, once, for every surface: the API key's principal
//! through the server ([`Actor::from_key`]), the named actor in process ([`Actor::local`]), or
//! nobody (an in-process handle without an actor, acting as the database's owner). Each write
//! checks the actor's role ([`Role::allows`]) and records the principal.

use chrono::{TimeDelta, Utc};

use crate::access::{
    Actor, ApiKey, IDEMPOTENCY_TTL, IdempotencyRecord, NewApiKey, NewSession, Permission,
    Principal, Role, Session, StoredAnswer, StoredApiKey, principal_key, random_hex, sha256_hex,
    valid_key_name,
};
use crate::error::{Error, Result};
use crate::event::{ValidBuild, ValidDeployment};
use crate::outbox::{EventType, NewEvent};
use crate::policy::ApprovalCatalog;
use crate::store::{self, LockScope, Tx};

use super::Versioner;

/// How often `last_used_at` is written for a busy key.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

/// The setting that keeps the approval catalog.
pub(super) const APPROVALS_SETTING: &str = "approvals";

/// The setting that holds who may use the emergency bypass (`[bypass] roles`).
pub(super) const BYPASS_SETTING: &str = "bypass";

/// The roles that may bypass, from the stored setting (the default when there is none). An
/// admin may always.
pub(super) fn bypass_roles(setting: Option<&serde_json::Value>) -> Vec<Role> {
    let mut roles: Vec<Role> = match setting.and_then(serde_json::Value::as_array) {
        Some(names) => names
            .iter()
            .filter_map(|n| n.as_str().and_then(|n| n.parse().ok()))
            .collect(),
        None => crate::policy::DEFAULT_BYPASS_ROLES.to_vec(),
    };
    if !roles.contains(&Role::Admin) {
        roles.insert(0, Role::Admin);
    }
    roles
}

/// A request to create an API key: its name, the principal it belongs to and, for a new
/// principal, its role.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ApiKeyRequest {
    /// A name for people (`github-actions`, `dana-laptop`); unique among active keys.
    pub name: String,
    /// The principal (person or CI system) the key belongs to; the key's name when absent.
    /// A new principal is created with `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The principal's role: required for a new principal; for an existing one it may only
    /// repeat its role (change a role with [`Versioner::set_principal_role`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl ApiKeyRequest {
    /// A key named `name`, for a principal of the same name.
    pub fn new(name: impl Into<String>) -> ApiKeyRequest {
        ApiKeyRequest {
            name: name.into(),
            ..ApiKeyRequest::default()
        }
    }

    /// Sets the principal.
    #[must_use]
    pub fn principal(mut self, principal: impl Into<String>) -> ApiKeyRequest {
        self.principal = Some(principal.into());
        self
    }

    /// Sets the role.
    #[must_use]
    pub fn role(mut self, role: Role) -> ApiKeyRequest {
        self.role = Some(role);
        self
    }
}

/// Who acts in one write, settled in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Acting {
    /// The principal; `None` for an in-process call without an actor.
    pub(crate) principal: Option<String>,
    /// The role it acts with (`admin` for the database's owner: an in-process call without an
    /// actor, or an unregistered actor without a role).
    pub(crate) role: Role,
    /// Whether an API key authenticated it.
    pub(crate) authenticated: bool,
}

impl Acting {
    /// Whether the role allows `permission` (the emergency bypass asks
    /// `acting.allows(Permission::Bypass)`).
    pub(crate) fn allows(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }

    /// `FORBIDDEN` unless the role allows `permission`.
    pub(crate) fn require(&self, permission: Permission) -> Result<()> {
        if self.allows(permission) {
            return Ok(());
        }
        let who = self.principal.as_deref().unwrap_or("the caller");
        let roles: Vec<&str> = permission.roles().into_iter().map(Role::as_str).collect();
        Err(Error::Forbidden {
            message: format!(
                "`{who}` has the role {}, which does not allow this ({permission}); roles that \
                 do: {}",
                self.role,
                roles.join(", ")
            ),
        })
    }
}

/// What the service does for one API key write: check the caller may manage keys.
fn require_keys(acting: &Acting) -> Result<()> {
    acting.require(Permission::ManageKeys)
}

impl Versioner {
    /// The same Versioner with `actor` as the actor of its writes: the principal recorded on
    /// builds and deployments (`recorded_by`, and `built_by` / `deployed_by` by default), on
    /// approvals (always the actor's own), rule changes and key changes, and the role every
    /// write is checked against. Without one, an in-process handle acts as the database's
    /// owner and records the names each call gives (`approver`, `actor`).
    ///
    /// ```
    /// use versioner_core::access::Actor;
    /// use versioner_core::{BuildEvent, Versioner};
    /// let vr = Versioner::open_in_memory()?.acting_as(Actor::local("dana"));
    /// let b = vr.track_build(&BuildEvent::new("api", "1.0.0", "completed"))?;
    /// assert_eq!(b.fields.built_by.as_deref(), Some("dana"));
    /// assert_eq!(b.fields.recorded_by.as_deref(), Some("dana"));
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    ///
    /// # Examples
    /// ```
    /// use versioner_core::{Actor, ApprovalRequest, BuildEvent, ErrorCode, Role, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.track_build(&BuildEvent::new("api", "1.2.0", "success"))?;
    /// let quinn = vr.acting_as(Actor::local("quinn").with_role(Role::Qa));
    /// quinn.approve(&ApprovalRequest::new("api", "1.2.0", "qa", "quinn"))?;
    /// let err = quinn.approve(&ApprovalRequest::new("api", "1.2.0", "security", "quinn")).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::Forbidden);     // QA may not grant `security`
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    #[must_use]
    pub fn acting_as(&self, actor: Actor) -> Versioner {
        let mut vr = self.clone();
        vr.actor = Some(std::sync::Arc::new(actor));
        vr
    }

    /// The actor of this handle's writes, if one is attached ([`Versioner::acting_as`]).
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_deref()
    }

    /// Who acts, read in its own transaction (for reads and for attributing an event before
    /// its write).
    pub(crate) fn acting(&self) -> Result<Acting> {
        match self.actor.as_deref() {
            Some(a) if !a.is_authenticated() => store::read(&*self.store, |tx| resolve(tx, a)),
            Some(a) => resolve_authenticated(a),
            None => Ok(owner()),
        }
    }

    /// Who acts, inside a write's transaction.
    pub(crate) fn acting_in(&self, tx: &mut dyn Tx) -> Result<Acting> {
        match self.actor.as_deref() {
            Some(a) => resolve(tx, a),
            None => Ok(owner()),
        }
    }

    /// Who acts when a call names someone itself (`approver`, `actor`) and perhaps a role:
    /// with an actor attached, what the call names must be blank or agree with it (an
    /// approval, a revocation or a rule change is always the actor's own); without one, the
    /// named principal acts, as [`Actor::local`] with the role given.
    pub(crate) fn acting_claimed(
        &self,
        tx: &mut dyn Tx,
        claimed: Option<&str>,
        name_field: &str,
        claimed_role: Option<&str>,
        role_field: &str,
    ) -> Result<Acting> {
        let claimed = claimed.map(str::trim).filter(|c| !c.is_empty());
        let role = claimed_role
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                r.parse::<Role>()
                    .map_err(|e| Error::invalid(role_field, crate::policy::reason_of(&e)))
            })
            .transpose()?;
        if let Some(actor) = self.actor.as_deref() {
            // An unregistered in-process actor without a role takes the role the call states.
            let actor = match (actor.is_authenticated(), actor.role(), role) {
                (false, None, Some(r)) => actor.clone().with_role(r),
                _ => actor.clone(),
            };
            let acting = resolve(tx, &actor).map_err(|e| rename_role_field(e, role_field))?;
            let principal = acting.principal.clone().unwrap_or_default();
            if let Some(c) = claimed
                && principal_key(c) != principal_key(&principal)
            {
                return Err(Error::invalid(
                    name_field,
                    format!(
                        "`{c}` is not the caller: this request acts as `{principal}`{}, and \
                         records it; leave `{name_field}` out or give `{principal}`",
                        if acting.authenticated {
                            " (the API key's principal)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if let Some(r) = role
                && r != acting.role
            {
                return Err(Error::invalid(
                    role_field,
                    format!(
                        "`{principal}` has the role {}, not {r}; leave `{role_field}` out or \
                         give {}",
                        acting.role, acting.role
                    ),
                ));
            }
            return Ok(acting);
        }
        match claimed {
            Some(name) => {
                let mut actor = Actor::local(name);
                if let Some(r) = role {
                    actor = actor.with_role(r);
                }
                resolve(tx, &actor).map_err(|e| rename_role_field(e, role_field))
            }
            None => Ok(Acting {
                role: role.unwrap_or(Role::Admin),
                ..owner()
            }),
        }
    }

    /// A build event as its actor records it: `Track` checked, `recorded_by` set to the
    /// principal and `built_by` defaulting to it.
    pub(crate) fn attribute_build(&self, mut ev: ValidBuild) -> Result<ValidBuild> {
        let acting = self.acting()?;
        acting.require(Permission::Track)?;
        if let Some(p) = acting.principal {
            ev.fields.built_by.get_or_insert_with(|| p.clone());
            ev.fields.recorded_by = Some(p);
        }
        Ok(ev)
    }

    /// A deployment event as its actor records it: `Track` checked, `recorded_by` set to the
    /// principal and `deployed_by` defaulting to it (a given `deployed_by`, such as the person
    /// a CI key deploys for, is kept; the preflight excludes both from approving).
    pub(crate) fn attribute_deployment(&self, mut ev: ValidDeployment) -> Result<ValidDeployment> {
        let acting = self.acting()?;
        acting.require(Permission::Track)?;
        // The emergency bypass is not every deployer's: admin and release_manager by default,
        // the roles the policy's `[bypass]` table names otherwise.
        if ev.bypass.is_some() {
            let allowed = store::read(&*self.store, |tx| {
                Ok(bypass_roles(tx.setting(BYPASS_SETTING)?.as_ref()))
            })?;
            if !allowed.contains(&acting.role) {
                let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                return Err(Error::Forbidden {
                    message: format!(
                        "the emergency bypass needs one of the roles {}; `{}` may not bypass the preflight",
                        names.join(", "),
                        acting.role
                    ),
                });
            }
        }
        if let Some(p) = acting.principal {
            ev.fields.deployed_by.get_or_insert_with(|| p.clone());
            ev.fields.recorded_by = Some(p);
        }
        Ok(ev)
    }

    /// The approval catalog in force: the built-in types and the default grants, with what
    /// the last applied policy declared (`[approvals]`).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn approval_catalog(&self) -> Result<ApprovalCatalog> {
        store::read(&*self.store, approval_catalog)
    }

    // ----- principals and keys ------------------------------------------------------------

    /// Creates an API key named `name` for a principal of the same name with `role` (see
    /// [`Versioner::create_key`]).
    ///
    /// # Errors
    /// As [`Versioner::create_key`].
    pub fn create_api_key(&self, name: &str, role: Role) -> Result<NewApiKey> {
        self.create_key(&ApiKeyRequest::new(name).role(role))
    }

    /// Creates an API key for a principal, creating the principal (with the request's role)
    /// when it is new; returns the key's record and the key itself, which is shown once and
    /// never stored (only its SHA-256 is).
    ///
    /// # Errors
    /// `INVALID_INPUT` when the name is blank, too long or taken by an active key, when a new
    /// principal has no role, or when the role differs from an existing principal's;
    /// `FORBIDDEN` when the actor may not manage keys; `STORAGE`.
    pub fn create_key(&self, request: &ApiKeyRequest) -> Result<NewApiKey> {
        let name = valid_key_name(&request.name)?;
        let principal_name = match request.principal.as_deref() {
            Some(p) => valid_key_name(p).map_err(|_| {
                Error::invalid(
                    "principal",
                    "must be 1 to 100 characters without control characters",
                )
            })?,
            None => name.clone(),
        };
        let id = random_hex(4)?;
        let secret = format!("sk_vr_{id}_{}", random_hex(24)?);
        // Not an idempotent write: its result holds the secret, which is never stored.
        store::write(&*self.store, &LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            require_keys(&acting)?;
            if tx.active_api_key(&name)?.is_some_and(|k| k.name == name) {
                return Err(Error::invalid(
                    "name",
                    format!("an active key is named `{name}`; revoke it or choose another name"),
                ));
            }
            let now = self.now();
            let principal = match (tx.principal(&principal_name)?, request.role) {
                (Some(p), Some(r)) if p.role != r => {
                    return Err(Error::invalid(
                        "role",
                        format!(
                            "`{}` has the role {}; a key acts with its principal's role: leave \
                             the role out, or change the principal's role first",
                            p.name, p.role
                        ),
                    ));
                }
                (Some(p), _) => p,
                (None, Some(r)) => {
                    // A new principal's name must be what it looks like, and not a look-alike
                    // of an existing one (who approved what is compared by name).
                    crate::names::check_new("principal", &principal_name)?;
                    let existing = tx.principals()?;
                    if let Some(same) = crate::names::resolve(
                        "principal",
                        &principal_name,
                        existing.into_iter().map(|p| (p.name.clone(), p.name)),
                    )? {
                        return Err(Error::invalid(
                            "principal",
                            format!("`{principal_name}` is the existing principal `{same}`"),
                        ));
                    }
                    let p = Principal::new(principal_name.clone(), r, now);
                    tx.insert_principal(&p)?;
                    p
                }
                (None, None) => {
                    return Err(Error::invalid(
                        "role",
                        format!(
                            "is required for a new principal (`{principal_name}`); one of: {}",
                            Role::names()
                        ),
                    ));
                }
            };
            let key = ApiKey {
                id: id.clone(),
                name: name.clone(),
                principal: principal.name.clone(),
                role: principal.role,
                prefix: format!("sk_vr_{id}"),
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            };
            tx.insert_api_key(&StoredApiKey::new(
                key.clone(),
                sha256_hex(secret.as_bytes()),
            ))?;
            tx.append_event(
                &NewEvent::of(EventType::ApiKeyCreated, now, &key.id, &key)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(NewApiKey {
                key,
                secret: secret.clone(),
            })
        })
    }

    /// Every API key (revoked ones too), oldest first; never a secret.
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not manage keys; `STORAGE`.
    pub fn api_keys(&self) -> Result<Vec<ApiKey>> {
        require_keys(&self.acting()?)?;
        store::read(&*self.store, |tx| tx.api_keys())
    }

    /// Every principal, by name.
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not manage keys; `STORAGE`.
    pub fn principals(&self) -> Result<Vec<Principal>> {
        require_keys(&self.acting()?)?;
        store::read(&*self.store, |tx| tx.principals())
    }

    /// Whether any key is active (a server with none refuses every request).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn has_active_api_keys(&self) -> Result<bool> {
        Ok(store::read(&*self.store, |tx| tx.api_keys())?
            .iter()
            .any(ApiKey::is_active))
    }

    /// Revokes the active key with this name or id. The last active key of the last admin
    /// cannot be revoked: there is always an admin once there has been one.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` for the last admin's last key; `FORBIDDEN` when the actor
    /// may not manage keys; `STORAGE`.
    pub fn revoke_api_key(&self, name_or_id: &str) -> Result<ApiKey> {
        let wanted = name_or_id.trim();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            require_keys(&acting)?;
            let key = tx.active_api_key(wanted)?.ok_or_else(|| Error::NotFound {
                kind: "active API key",
                name: wanted.to_string(),
            })?;
            let admins_after = admins(tx, |k| k.id != key.id, None)?;
            if key.role == Role::Admin && admins_after.is_empty() {
                return Err(Error::invalid(
                    "key",
                    format!(
                        "`{}` is the last active key of the last admin (`{}`); create another \
                         admin key first (there is always an admin)",
                        key.name, key.principal
                    ),
                ));
            }
            let now = self.now();
            tx.revoke_api_key(&key.id, now)?;
            let revoked = ApiKey {
                revoked_at: Some(now),
                ..key
            };
            tx.append_event(
                &NewEvent::of(EventType::ApiKeyRevoked, now, &revoked.id, &revoked)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(revoked)
        })
    }

    /// Changes the role of a principal (every key of it acts with the new role). The last
    /// admin cannot be downgraded, and nobody changes their own role.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` for the last admin; `FORBIDDEN` when the actor may not
    /// manage keys or is the principal; `STORAGE`.
    pub fn set_principal_role(&self, principal: &str, role: Role) -> Result<Principal> {
        let wanted = principal.trim().to_string();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            require_keys(&acting)?;
            let p = tx.principal(&wanted)?.ok_or_else(|| Error::NotFound {
                kind: "principal",
                name: wanted.clone(),
            })?;
            self.change_role(tx, &acting, p, role)
        })
    }

    /// Changes the role of the principal of the active key with this name or id (see
    /// [`Versioner::set_principal_role`]); returns the key with its new role.
    ///
    /// # Errors
    /// As [`Versioner::set_principal_role`]; `NOT_FOUND` for no such active key.
    pub fn set_api_key_role(&self, name_or_id: &str, role: Role) -> Result<ApiKey> {
        let wanted = name_or_id.trim();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            require_keys(&acting)?;
            let key = tx.active_api_key(wanted)?.ok_or_else(|| Error::NotFound {
                kind: "active API key",
                name: wanted.to_string(),
            })?;
            let p = tx
                .principal(&key.principal)?
                .ok_or_else(|| Error::internal("a key's principal is missing"))?;
            let p = self.change_role(tx, &acting, p, role)?;
            Ok(ApiKey {
                role: p.role,
                ..key
            })
        })
    }

    fn change_role(
        &self,
        tx: &mut dyn Tx,
        acting: &Acting,
        p: Principal,
        role: Role,
    ) -> Result<Principal> {
        if acting
            .principal
            .as_deref()
            .is_some_and(|me| principal_key(me) == principal_key(&p.name))
        {
            return Err(Error::Forbidden {
                message: format!("`{}` cannot change its own role; another admin can", p.name),
            });
        }
        if p.role == role {
            return Ok(p);
        }
        if p.role == Role::Admin && admins(tx, |_| true, Some(&p.name))?.is_empty() {
            return Err(Error::invalid(
                "role",
                format!(
                    "`{}` is the last admin; make another principal admin first (there is \
                     always an admin)",
                    p.name
                ),
            ));
        }
        let now = self.now();
        tx.set_principal_role(&p.name, role, now)?;
        let changed = Principal {
            role,
            updated_at: now,
            ..p.clone()
        };
        tx.append_event(
            &NewEvent::of(
                EventType::PrincipalRoleChanged,
                now,
                &changed.name,
                &serde_json::json!({
                    "principal": changed.name,
                    "from_role": p.role,
                    "to_role": role,
                    "changed_at": now,
                }),
            )
            .by(acting.principal.as_deref()),
        )?;
        Ok(changed)
    }

    /// The active key whose secret is `secret`, if any, with its principal's role; notes its
    /// use (to the minute).
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

    /// Opens a dashboard session with an API key: the key is authenticated as by
    /// [`Versioner::authenticate`], and a session of `lifetime` is kept in the store (its
    /// token's SHA-256 only; expired sessions are forgotten on the way). The token is returned
    /// once.
    ///
    /// # Errors
    /// `UNAUTHORIZED` for an unknown or revoked key; `INVALID_INPUT` for a lifetime that is
    /// not positive; `STORAGE`. Nothing is written on error.
    pub fn open_session(&self, secret: &str, lifetime: TimeDelta) -> Result<NewSession> {
        if lifetime <= TimeDelta::zero() {
            return Err(Error::invalid("lifetime", "must be positive"));
        }
        let key = self
            .authenticate(secret.trim())?
            .ok_or_else(|| Error::Unauthorized {
                message: "Invalid API key".into(),
            })?;
        let token = random_hex(32)?;
        let hash = sha256_hex(token.as_bytes());
        let now = self.now();
        let expires_at = now + lifetime;
        store::write(&*self.store, &LockScope::Global, |tx| {
            tx.prune_sessions(now)?;
            tx.insert_session(&hash, &key, now, expires_at)
        })?;
        Ok(NewSession {
            session: Session {
                key,
                created_at: now,
                expires_at,
            },
            token,
        })
    }

    /// The live session whose token is `token`, if any: not expired, not signed out, its key
    /// not revoked; with its principal's current role.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn session(&self, token: &str) -> Result<Option<Session>> {
        let hash = sha256_hex(token.as_bytes());
        let now = self.now();
        store::read(&*self.store, |tx| tx.session_by_hash(&hash, now))
    }

    /// Ends the session whose token is `token` (signing out); whether there was one.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn close_session(&self, token: &str) -> Result<bool> {
        let hash = sha256_hex(token.as_bytes());
        store::write(&*self.store, &LockScope::Global, |tx| {
            tx.delete_session(&hash)
        })
    }

    /// Imports keys kept elsewhere (a `versioner.db-server` file of an earlier version) when
    /// this store has none yet; returns how many were imported. Keys are imported with their
    /// hashes, so the same secrets keep working; each belongs to its principal (created with
    /// the key's role when new).
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn import_api_keys(&self, keys: &[StoredApiKey]) -> Result<usize> {
        store::write(&*self.store, &LockScope::Global, |tx| {
            if !tx.api_keys()?.is_empty() {
                return Ok(0);
            }
            // Active keys first, so a principal takes its active key's role.
            let mut ordered: Vec<&StoredApiKey> = keys.iter().collect();
            ordered.sort_by_key(|k| (!k.key.is_active(), std::cmp::Reverse(k.key.created_at)));
            for k in ordered {
                let principal = match tx.principal(&k.key.principal)? {
                    Some(p) => p,
                    None => {
                        let p = Principal::new(
                            k.key.principal.trim().to_string(),
                            k.key.role,
                            k.key.created_at,
                        );
                        tx.insert_principal(&p)?;
                        p
                    }
                };
                let mut stored = k.clone();
                stored.key.principal = principal.name;
                stored.key.role = principal.role;
                tx.insert_api_key(&stored)?;
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

impl super::Recorded for Principal {}

/// The in-process caller without an actor: the database's owner.
fn owner() -> Acting {
    Acting {
        principal: None,
        role: Role::Admin,
        authenticated: false,
    }
}

fn resolve_authenticated(actor: &Actor) -> Result<Acting> {
    Ok(Acting {
        principal: Some(actor.principal().to_string()),
        role: actor
            .role()
            .ok_or_else(|| Error::internal("an authenticated actor without a role"))?,
        authenticated: true,
    })
}

/// Settles an actor: an authenticated one as its key says; a local one with its registered
/// role (a different claimed role is refused), else the claimed role, else `admin`.
fn resolve(tx: &mut dyn Tx, actor: &Actor) -> Result<Acting> {
    if actor.is_authenticated() {
        return resolve_authenticated(actor);
    }
    let name = crate::event::required("actor", Some(actor.principal()), 255)?;
    match tx.principal(&name)? {
        Some(p) => {
            if let Some(r) = actor.role()
                && r != p.role
            {
                return Err(Error::invalid(
                    "role",
                    format!(
                        "`{}` is registered with the role {}, not {r}; leave the role out or \
                         give {}",
                        p.name, p.role, p.role
                    ),
                ));
            }
            Ok(Acting {
                principal: Some(p.name),
                role: p.role,
                authenticated: false,
            })
        }
        None => Ok(Acting {
            principal: Some(name),
            role: actor.role().unwrap_or(Role::Admin),
            authenticated: false,
        }),
    }
}

/// A role mismatch reported on the field the call named the role in.
fn rename_role_field(e: Error, role_field: &str) -> Error {
    match e {
        Error::InvalidInput { field, reason } if field == "role" => Error::InvalidInput {
            field: role_field.to_string(),
            reason,
        },
        other => other,
    }
}

/// The admins with an active key, among the keys `keep` keeps, not counting `except`.
fn admins(
    tx: &mut dyn Tx,
    keep: impl Fn(&ApiKey) -> bool,
    except: Option<&str>,
) -> Result<Vec<String>> {
    let mut out: Vec<String> = tx
        .api_keys()?
        .into_iter()
        .filter(|k| k.is_active() && k.role == Role::Admin && keep(k))
        .filter(|k| except.is_none_or(|e| principal_key(e) != principal_key(&k.principal)))
        .map(|k| k.principal)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The approval catalog kept in the store (the built-in one when none was applied).
pub(super) fn approval_catalog(tx: &mut dyn Tx) -> Result<ApprovalCatalog> {
    match tx.setting(APPROVALS_SETTING)? {
        Some(v) => ApprovalCatalog::from_json(&v).map_err(|e| Error::Storage {
            message: format!("the stored approval catalog cannot be read: {e}"),
            source: None,
        }),
        None => Ok(ApprovalCatalog::new()),
    }
}
