//! The catalog: a product's or an environment's record, and changing its name, description
//! and metadata.
//!
//! A rename keeps the id, so everything recorded against the product or environment (its
//! versions, deployments, approvals, the state matrix and drift) follows it; the old name no
//! longer resolves (no alias is kept: a later event naming it records a new product or
//! environment). Decisions keep the names they were decided under: they are a record of what
//! was asked. A rename is refused while a rule names the old name (its scope, a flow's
//! prerequisites, a version approval's environment): renaming under it would silently take
//! the thing out of the rule's reach. Versions are never changed: they are immutable.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::access::Permission;
use crate::error::{Error, Result};
use crate::model::{CatalogChange, Environment, Product};
use crate::names;
use crate::outbox::{EventType, NewEvent};
use crate::store::{self, CatalogEntry, LockScope, Tx};

use super::{Versioner, lookup_environment, lookup_product};

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// The longest product or environment name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;

/// The rule fields that hold product or environment names.
const NAME_FIELDS: &[&str] = &["products", "environments", "prerequisites", "environment"];

/// What a catalog write records in the outbox (and so in the audit chain).
#[derive(Debug, Serialize)]
struct Changed<'a, T: Serialize> {
    /// The record after the change.
    #[serde(flatten)]
    record: &'a T,
    /// The name before, when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_name: Option<&'a str>,
}

impl Versioner {
    /// A product by name (any case or compatibility form of it) or by id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` for a look-alike of an existing name; `STORAGE`.
    pub fn product(&self, name_or_id: &str) -> Result<Product> {
        store::read(&*self.store, |tx| find_product(tx, name_or_id))
    }

    /// An environment by name (any case or compatibility form of it) or by id.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` for a look-alike of an existing name; `STORAGE`.
    pub fn environment(&self, name_or_id: &str) -> Result<Environment> {
        store::read(&*self.store, |tx| find_environment(tx, name_or_id))
    }

    /// Renames a product, or changes its description or metadata (each field of `change`
    /// absent is left as it is). Recorded as `product.renamed` (a new name) or
    /// `product.updated` in the outbox and the audit chain.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` for an empty change, a name taken by (or looking like)
    /// another product, a name a rule still uses, or a bad description or metadata;
    /// `FORBIDDEN` unless the actor may manage environments and products; `STORAGE`.
    pub fn update_product(&self, name_or_id: &str, change: &CatalogChange) -> Result<Product> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageEnvironments)?;
            let product = find_product(tx, name_or_id)?;
            let others = tx
                .products()?
                .into_iter()
                .filter(|p| p.key != product.key)
                .map(|p| p.name);
            let entry = Entry::of(
                "product",
                &product.name,
                product.description.as_deref(),
                &product.extra_metadata,
                change,
                others,
            )?;
            if entry.renamed {
                unused_by_rules(tx, "product", &product.name)?;
            }
            tx.update_product(product.key, &entry.as_store())?;
            let stored = find_product(tx, &product.id)?;
            let (event, previous) =
                entry.event(EventType::ProductRenamed, EventType::ProductUpdated);
            tx.append_event(
                &NewEvent::of(
                    event,
                    now,
                    &stored.id,
                    &Changed {
                        record: &stored,
                        previous_name: previous.then_some(product.name.as_str()),
                    },
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(stored)
        })
    }

    /// Renames an environment, or changes its description or metadata (as
    /// [`Versioner::update_product`]; its type has [`Versioner::set_environment_type`]).
    /// Recorded as `environment.renamed` or `environment.updated`.
    ///
    /// # Errors
    /// As [`Versioner::update_product`].
    pub fn update_environment(
        &self,
        name_or_id: &str,
        change: &CatalogChange,
    ) -> Result<Environment> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageEnvironments)?;
            let env = find_environment(tx, name_or_id)?;
            let others = tx
                .environments()?
                .into_iter()
                .filter(|e| e.key != env.key)
                .map(|e| e.name);
            let entry = Entry::of(
                "environment",
                &env.name,
                env.description.as_deref(),
                &env.extra_metadata,
                change,
                others,
            )?;
            if entry.renamed {
                unused_by_rules(tx, "environment", &env.name)?;
            }
            tx.update_environment(env.key, &entry.as_store())?;
            let stored = find_environment(tx, &env.id)?;
            let (event, previous) =
                entry.event(EventType::EnvironmentRenamed, EventType::EnvironmentUpdated);
            tx.append_event(
                &NewEvent::of(
                    event,
                    now,
                    &stored.id,
                    &Changed {
                        record: &stored,
                        previous_name: previous.then_some(env.name.as_str()),
                    },
                )
                .by(acting.principal.as_deref()),
            )?;
            Ok(stored)
        })
    }
}

/// A catalog entry after a change, validated.
struct Entry {
    name: String,
    description: Option<String>,
    extra_metadata: Map<String, Value>,
    renamed: bool,
}

impl Entry {
    /// Applies `change` to the entry `name`, `description`, `metadata` of a `kind`
    /// (`product`, `environment`), among the `others` of its kind.
    fn of(
        kind: &str,
        name: &str,
        description: Option<&str>,
        metadata: &Map<String, Value>,
        change: &CatalogChange,
        others: impl Iterator<Item = String>,
    ) -> Result<Entry> {
        if change.is_empty() {
            return Err(Error::invalid(
                "body",
                "changes nothing; give at least one of name, description, extra_metadata",
            ));
        }
        let new_name = match &change.name {
            None => name.to_string(),
            Some(given) => {
                let given = crate::event::required("name", Some(given), MAX_NAME_CHARS)?;
                if given != name {
                    names::check_new("name", &given)?;
                    let taken = names::resolve("name", &given, others.map(|n| (n.clone(), n)))?;
                    if let Some(existing) = taken {
                        return Err(Error::invalid(
                            "name",
                            format!(
                                "the {kind} `{existing}` already has this name; choose another"
                            ),
                        ));
                    }
                }
                given
            }
        };
        let description = match &change.description {
            None => description.map(str::to_string),
            Some(d) => text_block("description", d, MAX_DESCRIPTION_CHARS)?,
        };
        let extra_metadata = match &change.extra_metadata {
            None => metadata.clone(),
            Some(m) => {
                let size = serde_json::to_string(m).map_or(usize::MAX, |t| t.len());
                if size > crate::MAX_METADATA_BYTES {
                    return Err(Error::invalid(
                        "extra_metadata",
                        format!(
                            "is {size} bytes; the limit is {} bytes (100 KB)",
                            crate::MAX_METADATA_BYTES
                        ),
                    ));
                }
                m.clone()
            }
        };
        Ok(Entry {
            renamed: new_name != name,
            name: new_name,
            description,
            extra_metadata,
        })
    }

    fn as_store(&self) -> CatalogEntry<'_> {
        CatalogEntry {
            name: &self.name,
            description: self.description.as_deref(),
            extra_metadata: &self.extra_metadata,
        }
    }

    /// The event to record and whether it names the previous name.
    fn event(&self, renamed: EventType, updated: EventType) -> (EventType, bool) {
        if self.renamed {
            (renamed, true)
        } else {
            (updated, false)
        }
    }
}

/// A free text of several lines: trimmed, blank means none, bounded, no control characters
/// but line breaks and tabs.
fn text_block(field: &str, value: &str, max: usize) -> Result<Option<String>> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let len = v.chars().count();
    if len > max {
        return Err(Error::invalid(
            field,
            format!("is {len} characters long; the limit is {max}"),
        ));
    }
    if let Some(c) = v
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(Error::invalid(
            field,
            format!(
                "contains the control character U+{:04X}; only line breaks and tabs are allowed",
                u32::from(c)
            ),
        ));
    }
    Ok(Some(v.to_string()))
}

/// Refuses renaming `name` while a rule names it.
fn unused_by_rules(tx: &mut dyn Tx, kind: &str, name: &str) -> Result<()> {
    let mut users: Vec<String> = Vec::new();
    for stored in tx.rules()? {
        let definition = stored.rule.to_json();
        let named = NAME_FIELDS
            .iter()
            .any(|field| match definition.get(*field) {
                Some(Value::String(s)) => names::same(s, name),
                Some(Value::Array(list)) => list
                    .iter()
                    .any(|v| v.as_str().is_some_and(|s| names::same(s, name))),
                _ => false,
            });
        if named {
            users.push(format!("`{}`", stored.rule.name));
        }
    }
    if users.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(
        "name",
        format!(
            "the {kind} `{name}` is named by rule(s) {}; renaming it would take it out of their \
             reach: add the new name to them first (or remove the old one), rename, then \
             remove the old name",
            users.join(", ")
        ),
    ))
}

/// The product a name (or an id) means.
fn find_product(tx: &mut dyn Tx, name_or_id: &str) -> Result<Product> {
    if let Some(p) = lookup_product(tx, name_or_id)? {
        return Ok(p);
    }
    tx.products()?
        .into_iter()
        .find(|p| p.id == name_or_id)
        .ok_or_else(|| Error::NotFound {
            kind: "product",
            name: name_or_id.to_string(),
        })
}

/// The environment a name (or an id) means.
fn find_environment(tx: &mut dyn Tx, name_or_id: &str) -> Result<Environment> {
    if let Some(e) = lookup_environment(tx, name_or_id)? {
        return Ok(e);
    }
    tx.environments()?
        .into_iter()
        .find(|e| e.id == name_or_id)
        .ok_or_else(|| Error::NotFound {
            kind: "environment",
            name: name_or_id.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::access::{Actor, Role};
    use crate::event::DeploymentEvent;
    use crate::policy::{ApplyMode, PolicyFormat};
    use crate::store::HistoryQuery;
    use crate::{ErrorCode, Versioner};

    fn seeded() -> Result<Versioner> {
        let vr = Versioner::open_in_memory()?;
        for env in ["staging", "production"] {
            vr.track_deployment(&DeploymentEvent::new("api", "1.0", env, "success"))?;
        }
        Ok(vr)
    }

    fn metadata(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_rename_keeps_the_id_and_the_history_follows() -> Result<()> {
        let vr = seeded()?;
        let before = vr.product("api")?;
        let seq = vr.last_event_seq()?;
        let renamed = vr.update_product("api", &CatalogChange::rename("api-service"))?;
        assert_eq!(
            (renamed.id.as_str(), renamed.name.as_str()),
            (before.id.as_str(), "api-service")
        );
        // History, versions and the state matrix follow the id.
        let history = vr.history(&HistoryQuery::new().product("api-service"))?;
        assert_eq!(history.len(), 2);
        assert!(history.iter().all(|d| d.product_name == "api-service"));
        assert_eq!(vr.version("api-service", "1.0")?.product_id, before.id);
        let state = vr.state(None)?;
        assert_eq!(state.products, vec!["api-service".to_string()]);
        // The old name no longer resolves; the id does.
        assert_eq!(
            vr.product("api").map_err(|e| e.code()),
            Err(ErrorCode::NotFound)
        );
        assert_eq!(vr.product(&before.id)?.name, "api-service");
        // Recorded in the outbox, chained in the audit log.
        let events = vr.events_since(seq, 10)?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type, EventType::ProductRenamed);
        assert_eq!(events[0].payload["previous_name"], "api");
        assert_eq!(events[0].payload["name"], "api-service");
        assert!(vr.audit_verify()?.is_intact());
        // A later event with the old name is a new product.
        vr.track_deployment(&DeploymentEvent::new("api", "2.0", "staging", "success"))?;
        assert_ne!(vr.product("api")?.id, before.id);
        Ok(())
    }

    #[test]
    fn environments_rename_and_describe_with_the_type_kept() -> Result<()> {
        let vr = seeded()?;
        let before = vr.environment("production")?;
        let change = CatalogChange::rename("prod-eu")
            .description("Frankfurt\nprimary")
            .extra_metadata(metadata(json!({"region": "eu-central-1"})));
        let env = vr.update_environment("Production", &change)?;
        assert_eq!(env.id, before.id);
        assert_eq!(env.name, "prod-eu");
        assert_eq!(env.env_type, before.env_type);
        assert_eq!(env.description.as_deref(), Some("Frankfurt\nprimary"));
        assert_eq!(env.extra_metadata["region"], "eu-central-1");
        let cells = vr.state(None)?.cells;
        assert!(cells.iter().any(|c| c.environment_name == "prod-eu"));
        // An empty description and metadata clear them; the name stays.
        let cleared = CatalogChange::default()
            .description("")
            .extra_metadata(Map::new());
        let env = vr.update_environment(&before.id, &cleared)?;
        assert_eq!(
            (env.name.as_str(), env.description, env.extra_metadata.len()),
            ("prod-eu", None, 0)
        );
        let last = vr.events_since(vr.last_event_seq()? - 1, 1)?;
        assert_eq!(last[0].event_type, EventType::EnvironmentUpdated);
        assert!(last[0].payload.get("previous_name").is_none());
        Ok(())
    }

    /// Runs `f`, expecting `INVALID_INPUT` on `field` with `words` in the message, and
    /// nothing recorded.
    fn refused(vr: &Versioner, field: &str, words: &str, f: impl FnOnce() -> Result<()>) {
        let seq = vr.last_event_seq().ok();
        let err = f()
            .err()
            .map(|e| (e.code(), e.field().map(str::to_string), e.to_string()));
        let Some((code, got_field, message)) = err else {
            panic!("accepted; expected {field}: {words}");
        };
        assert_eq!(code, ErrorCode::InvalidInput, "{message}");
        assert_eq!(got_field.as_deref(), Some(field), "{message}");
        assert!(message.contains(words), "{message}");
        assert_eq!(vr.last_event_seq().ok(), seq, "something was recorded");
    }

    #[test]
    fn bad_changes_are_refused_naming_the_problem_and_write_nothing() -> Result<()> {
        let vr = seeded()?;
        vr.track_deployment(&DeploymentEvent::new("tools", "1.0", "staging", "success"))?;
        let vr = &vr;
        let product = |c: CatalogChange| move || vr.update_product("api", &c).map(|_| ());
        refused(
            vr,
            "name",
            "already has this name",
            product(CatalogChange::rename("TOOLS")),
        );
        refused(
            vr,
            "name",
            "looks like the existing `tools`",
            product(CatalogChange::rename("t00ls")),
        );
        refused(
            vr,
            "name",
            "invisible",
            product(CatalogChange::rename("api\u{200B}2")),
        );
        refused(vr, "name", "required", product(CatalogChange::rename("  ")));
        refused(
            vr,
            "body",
            "changes nothing",
            product(CatalogChange::default()),
        );
        refused(
            vr,
            "description",
            "U+0007",
            product(CatalogChange::default().description("ding\u{7}")),
        );
        let huge = metadata(json!({ "blob": "x".repeat(crate::MAX_METADATA_BYTES) }));
        refused(
            vr,
            "extra_metadata",
            "100 KB",
            product(CatalogChange::default().extra_metadata(huge)),
        );
        assert_eq!(
            vr.update_product("nope", &CatalogChange::rename("x"))
                .map_err(|e| e.code())
                .err(),
            Some(ErrorCode::NotFound)
        );
        // A change of case only is the same name: allowed.
        assert_eq!(
            vr.update_product("api", &CatalogChange::rename("API"))?
                .name,
            "API"
        );
        Ok(())
    }

    #[test]
    fn a_rename_is_refused_while_a_rule_names_the_old_name() -> Result<()> {
        let vr = seeded()?;
        let policy = r#"
[[rules]]
name = "Staging first"
type = "flow"
environments = ["production"]
prerequisites = ["staging"]
"#;
        vr.apply_policy_text(policy, PolicyFormat::Toml, ApplyMode::Replace, "test")?;
        for env in ["staging", "Production"] {
            refused(&vr, "name", "named by rule(s) `Staging first`", || {
                vr.update_environment(env, &CatalogChange::rename("elsewhere"))
                    .map(|_| ())
            });
        }
        // A description is not a rename: allowed.
        let env =
            vr.update_environment("staging", &CatalogChange::default().description("pre-prod"))?;
        assert_eq!(env.description.as_deref(), Some("pre-prod"));
        Ok(())
    }

    #[test]
    fn only_roles_that_manage_environments_change_the_catalog() -> Result<()> {
        let vr = seeded()?;
        let viewer = vr.acting_as(Actor::local("vic").with_role(Role::Viewer));
        let err = viewer
            .update_product("api", &CatalogChange::rename("x"))
            .err();
        assert_eq!(err.map(|e| e.code()), Some(ErrorCode::Forbidden));
        assert_eq!(vr.product("api")?.name, "api");
        let sre = vr.acting_as(Actor::local("sam").with_role(Role::Sre));
        let p = sre.update_product("api", &CatalogChange::default().description("core API"))?;
        assert_eq!(p.description.as_deref(), Some("core API"));
        let events = vr.events_since(vr.last_event_seq()? - 1, 1)?;
        assert_eq!(events[0].actor.as_deref(), Some("sam"));
        Ok(())
    }
}
