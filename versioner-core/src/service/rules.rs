//! Rules: add, edit, delete, change status, apply a policy.

use std::path::Path;

use crate::access::Permission;
use crate::error::{Error, Result};
use crate::names;
use crate::outbox::{EventType, NewEvent};
use crate::policy::lint::{self, LintContext, LintReport};
use crate::policy::{ApplyMode, ApprovalCatalog, PolicyFile, PolicyFormat, Rule, RuleStatus};
use crate::store::{self, LockScope, RuleStatusChange, StoredRule, Tx};

use super::access::{APPROVALS_SETTING, BYPASS_SETTING, approval_catalog, bypass_roles};
use super::{ApplyReport, Versioner, find_rule};

/// Refuses a rule naming an approval type the catalog lacks, or a release approver role that
/// may not grant `release`, with every problem.
fn check_against(catalog: &ApprovalCatalog, rules: &[&Rule]) -> Result<()> {
    let mut problems = Vec::new();
    for rule in rules {
        catalog.check_rule(rule, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidPolicy { problems })
    }
}

impl Versioner {
    /// Lints a policy against what is recorded: the problems of [`lint`](crate::policy::lint)
    /// (errors refuse the policy in [`Versioner::apply_policy`]; warnings never do). The
    /// approval catalog is the policy's own, else the one in force.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn lint_policy(&self, policy: &PolicyFile) -> Result<LintReport> {
        let now = self.now();
        store::read(&*self.store, |tx| {
            let catalog = match &policy.approvals {
                Some(c) => c.clone(),
                None => approval_catalog(tx)?,
            };
            let ctx = LintContext {
                products: tx.products()?.into_iter().map(|p| p.name).collect(),
                environments: tx.environments()?.into_iter().map(|e| e.name).collect(),
                principals: tx
                    .api_keys()?
                    .into_iter()
                    .filter(|k| k.revoked_at.is_none())
                    .map(|k| (k.principal, k.role))
                    .collect(),
                catalog,
            };
            Ok(lint::lint(policy, &ctx, now))
        })
    }

    /// Every rule, in evaluation order.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn rules(&self) -> Result<Vec<StoredRule>> {
        store::read(&*self.store, |tx| tx.rules())
    }

    /// A rule by name.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn rule(&self, name: &str) -> Result<StoredRule> {
        store::read(&*self.store, |tx| find_rule(tx, name))
    }

    /// Adds a rule at the end of the evaluation order; the actor is recorded with its event.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the rule is invalid (an approval type outside the catalog
    /// included) or its name is taken; `FORBIDDEN` when the actor may not manage rules;
    /// `STORAGE`.
    pub fn add_rule(&self, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageRules)?;
            check_against(&approval_catalog(tx)?, &[&rule])?;
            let existing = tx.rules()?;
            if let Some(same) = names::resolve(
                "name",
                &rule.name,
                existing
                    .into_iter()
                    .map(|r| (r.rule.name.clone(), r.rule.name)),
            )? {
                return Err(Error::invalid(
                    "name",
                    format!("a rule named `{same}` already exists; update it instead"),
                ));
            }
            tx.insert_rule(&rule, now)?;
            let stored = find_rule(tx, &rule.name)?;
            tx.append_event(
                &NewEvent::of(EventType::RuleCreated, now, &rule.name, &stored)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(stored)
        })
    }

    /// Replaces the rule named `name` with `rule` (which may rename it). A status change is
    /// recorded in the rule's history with the actor (`api` for an in-process handle without
    /// one).
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `FORBIDDEN` when the actor may not manage rules;
    /// `STORAGE`.
    pub fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageRules)?;
            let old = find_rule(tx, name)?;
            check_against(&approval_catalog(tx)?, &[&rule])?;
            if rule.name != name && tx.rule(&rule.name)?.is_some() {
                return Err(Error::invalid(
                    "name",
                    format!("a rule named `{}` already exists", rule.name),
                ));
            }
            tx.update_rule(name, &rule, now)?;
            if old.rule.status != rule.status {
                status_changed(
                    tx,
                    &RuleStatusChange {
                        rule_name: rule.name.clone(),
                        from_status: old.rule.status,
                        to_status: rule.status,
                        actor: acting.principal.clone().unwrap_or_else(|| "api".into()),
                        reason: "rule updated".into(),
                        changed_at: now,
                    },
                )?;
            }
            let stored = find_rule(tx, &rule.name)?;
            tx.append_event(
                &NewEvent::of(EventType::RuleUpdated, now, &rule.name, &stored)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(stored)
        })
    }

    /// Deletes a rule; the actor is recorded with its event.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage rules; `STORAGE`.
    pub fn delete_rule(&self, name: &str) -> Result<()> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_in(tx)?;
            acting.require(Permission::ManageRules)?;
            let old = find_rule(tx, name)?;
            tx.delete_rule(name)?;
            tx.append_event(
                &NewEvent::of(EventType::RuleDeleted, now, name, &old)
                    .by(acting.principal.as_deref()),
            )?;
            Ok(())
        })
    }

    /// Changes a rule's status, recording who, when and why. `actor` is who changes it: with
    /// an actor attached (the API key's principal through the server), blank or the actor.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` (without an actor attached) or `reason` is
    /// blank, or `actor` is not the caller; `FORBIDDEN` when the actor may not manage rules;
    /// `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::{ApplyMode, PolicyFormat};
    /// use versioner_core::{RuleStatus, Versioner};
    /// let vr = Versioner::open_in_memory()?;
    /// vr.apply_policy_text(r#"
    ///     [[rules]]
    ///     name = "Staging before production"
    ///     type = "flow"
    ///     environments = ["production"]
    ///     prerequisites = ["staging"]
    /// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
    /// vr.set_rule_status("Staging before production", RuleStatus::ReportOnly, "dana", "INC-42 hotfix")?;
    /// assert_eq!(vr.rule("Staging before production")?.rule.status, RuleStatus::ReportOnly);
    /// assert_eq!(vr.rule_history(None)?.len(), 1);       // who, when and why
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule> {
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(tx, Some(actor), "actor", None, "role")?;
            let actor = acting
                .principal
                .clone()
                .ok_or_else(|| Error::invalid("actor", "is required and must not be blank"))?;
            acting.require(Permission::ManageRules)?;
            let mut stored = find_rule(tx, name)?;
            let from = stored.rule.status;
            stored.rule.status = status;
            tx.update_rule(name, &stored.rule, now)?;
            status_changed(
                tx,
                &RuleStatusChange {
                    rule_name: name.to_string(),
                    from_status: from,
                    to_status: status,
                    actor: actor.clone(),
                    reason: reason.clone(),
                    changed_at: now,
                },
            )?;
            find_rule(tx, name)
        })
    }

    /// The status history of one rule (or of all rules), oldest first. A name with no
    /// recorded change (or no rule) has an empty history; a deleted rule keeps its history.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn rule_history(&self, name: Option<&str>) -> Result<Vec<RuleStatusChange>> {
        store::read(&*self.store, |tx| tx.rule_status_changes(name))
    }

    /// Applies a validated policy: in [`ApplyMode::Replace`] the policy becomes the whole rule
    /// set and approval catalog (none in the file: the built-in one); in
    /// [`ApplyMode::Merge`] its rules are added or updated by name, and its catalog, when it
    /// has one, replaces the stored one. Its rules are checked against the catalog in force
    /// afterwards. Status changes are recorded with `actor` (with an actor attached: blank,
    /// or the actor). All or nothing.
    ///
    /// # Errors
    /// `INVALID_INPUT` listing every rule naming an approval type outside the catalog, or
    /// when `actor` is blank or not the caller; `INVALID_INPUT` on `rules` when, in replace
    /// mode, a policy without a `rules` key (see [`PolicyFile::allow_empty`]) would delete
    /// stored rules; `FORBIDDEN` when the actor may not manage rules; `STORAGE`.
    pub fn apply_policy(
        &self,
        policy: &PolicyFile,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let acting = self.acting_claimed(tx, Some(actor), "actor", None, "role")?;
            let actor = acting
                .principal
                .clone()
                .ok_or_else(|| Error::invalid("actor", "is required and must not be blank"))?;
            let actor = actor.as_str();
            acting.require(Permission::ManageRules)?;
            if mode == ApplyMode::Replace && !policy.declares_rules() {
                let stored = tx.rules()?.len();
                if stored > 0 {
                    return Err(Error::invalid(
                        "rules",
                        format!(
                            "the policy lists no rules, so replacing would delete all {stored} \
                             stored rules; to mean that, write `rules = []` in the file \
                             (`\"rules\": []` in JSON), pass --allow-empty (`\"allow_empty\": \
                             true` over HTTP), or apply it with mode merge"
                        ),
                    ));
                }
            }
            let stored_catalog = tx.setting(APPROVALS_SETTING)?;
            let catalog = match (&policy.approvals, mode) {
                (Some(c), _) => c.clone(),
                (None, ApplyMode::Replace) => ApprovalCatalog::new(),
                (None, ApplyMode::Merge) => approval_catalog(tx)?,
            };
            check_against(&catalog, &policy.rules.iter().collect::<Vec<_>>())?;
            // The lint's errors refuse the policy (its warnings need what is recorded and
            // never refuse; `lint_policy` reports them).
            let report = lint::lint(
                policy,
                &LintContext {
                    catalog: catalog.clone(),
                    ..LintContext::default()
                },
                now,
            );
            if !report.passed() {
                return Err(Error::InvalidPolicy {
                    problems: report.error_problems(),
                });
            }
            let catalog_json =
                (catalog != ApprovalCatalog::new()).then(|| catalog.to_json());
            if catalog_json != stored_catalog {
                tx.put_setting(APPROVALS_SETTING, catalog_json.as_ref(), now)?;
                tx.append_event(
                    &NewEvent::of(
                        EventType::ApprovalCatalogChanged,
                        now,
                        APPROVALS_SETTING,
                        &serde_json::json!({
                            "types": catalog.types(),
                            "grants": crate::access::Role::ALL
                                .iter()
                                .map(|r| (r.as_str().to_string(), serde_json::json!(catalog.grants_of(*r))))
                                .collect::<serde_json::Map<_, _>>(),
                        }),
                    )
                    .by(Some(actor)),
                )?;
            }
            // Who may bypass: the file's list; in replace mode without one, the default.
            let stored_bypass = tx.setting(BYPASS_SETTING)?;
            let bypass_json = match (&policy.bypass_roles, mode) {
                (Some(roles), _) => Some(serde_json::json!(
                    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()
                )),
                (None, ApplyMode::Replace) => None,
                (None, ApplyMode::Merge) => stored_bypass.clone(),
            };
            if bypass_json != stored_bypass {
                tx.put_setting(BYPASS_SETTING, bypass_json.as_ref(), now)?;
                tx.append_event(
                    &NewEvent::of(
                        EventType::BypassRolesChanged,
                        now,
                        BYPASS_SETTING,
                        &serde_json::json!({ "roles": bypass_roles(bypass_json.as_ref()) }),
                    )
                    .by(Some(actor)),
                )?;
            }
            super::notifications::apply_declared(
                tx,
                &acting,
                policy.notifications.as_deref(),
                mode,
                now,
            )?;
            super::buttons::apply_declared(tx, &acting, policy.variables.as_deref(), mode, now)?;
            super::requests::apply_declared_templates(
                tx,
                &acting,
                policy.request_templates.as_deref(),
                mode,
                now,
            )?;
            let existing = tx.rules()?;
            let mut report = ApplyReport::default();
            for rule in &policy.rules {
                match existing.iter().find(|s| s.rule.name == rule.name) {
                    None => {
                        // Rules that stay (all in merge; those the policy keeps in replace) must not have a
                        // look-alike added beside them.
                        let others = existing.iter().filter(|s| {
                            mode == ApplyMode::Merge
                                || policy.rules.iter().any(|r| r.name == s.rule.name)
                        });
                        if let Some(same) = names::resolve(
                            "name",
                            &rule.name,
                            others.map(|s| (s.rule.name.clone(), s.rule.name.clone())),
                        )? {
                            return Err(Error::invalid(
                                "name",
                                format!(
                                    "rule `{}` is the existing rule `{same}` written differently; use `{same}`",
                                    rule.name
                                ),
                            ));
                        }
                        tx.insert_rule(rule, now)?;
                        let stored = find_rule(tx, &rule.name)?;
                        tx.append_event(
                            &NewEvent::of(EventType::RuleCreated, now, &rule.name, &stored)
                                .by(Some(actor)),
                        )?;
                        report.added.push(rule.name.clone());
                    }
                    Some(s) if s.rule == *rule => report.unchanged.push(rule.name.clone()),
                    Some(s) => {
                        tx.update_rule(&rule.name, rule, now)?;
                        if s.rule.status != rule.status {
                            status_changed(
                                tx,
                                &RuleStatusChange {
                                    rule_name: rule.name.clone(),
                                    from_status: s.rule.status,
                                    to_status: rule.status,
                                    actor: actor.to_string(),
                                    reason: "policy applied".into(),
                                    changed_at: now,
                                },
                            )?;
                        }
                        let stored = find_rule(tx, &rule.name)?;
                        tx.append_event(
                            &NewEvent::of(EventType::RuleUpdated, now, &rule.name, &stored)
                                .by(Some(actor)),
                        )?;
                        report.updated.push(rule.name.clone());
                    }
                }
            }
            if mode == ApplyMode::Replace {
                let kept: std::collections::HashSet<&str> =
                    policy.rules.iter().map(|r| r.name.as_str()).collect();
                for s in &existing {
                    if !kept.contains(s.rule.name.as_str()) {
                        tx.delete_rule(&s.rule.name)?;
                        tx.append_event(
                            &NewEvent::of(EventType::RuleDeleted, now, &s.rule.name, s)
                                .by(Some(actor)),
                        )?;
                        report.deleted.push(s.rule.name.clone());
                    }
                }
            }
            Ok(report)
        })
    }

    /// Parses and applies a policy document (TOML or JSON).
    ///
    /// # Errors
    /// `INVALID_INPUT` listing every problem (nothing applied); `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::{ApplyMode, PolicyFormat};
    /// use versioner_core::Versioner;
    /// let vr = Versioner::open_in_memory()?;
    /// let report = vr.apply_policy_text(r#"
    ///     [[rules]]
    ///     name = "One at a time"
    ///     type = "concurrency"
    ///     max = 1
    /// "#, PolicyFormat::Toml, ApplyMode::Replace, "ci")?;
    /// assert_eq!(report.added, vec!["One at a time".to_string()]);
    /// assert_eq!(vr.rules()?.len(), 1);
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn apply_policy_text(
        &self,
        text: &str,
        format: PolicyFormat,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let policy = PolicyFile::parse(text, format)?;
        self.apply_policy(&policy, mode, actor)
    }

    /// Reads and applies a policy file; `.json` files are JSON, others TOML.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the file cannot be read or is invalid; `STORAGE`.
    ///
    /// # Examples
    /// ```
    /// use versioner_core::policy::ApplyMode;
    /// use versioner_core::{ErrorCode, Versioner};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("versioner.toml");
    /// std::fs::write(&path, "[[rules]]\nname = \"Typo\"\ntype = \"flwo\"\n").unwrap();
    /// let vr = Versioner::open_in_memory()?;
    /// let err = vr.apply_policy_file(&path, ApplyMode::Replace, "ci").unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InvalidInput);   // every problem named; nothing applied
    /// assert!(vr.rules()?.is_empty());
    /// # Ok::<(), versioner_core::Error>(())
    /// ```
    pub fn apply_policy_file(
        &self,
        path: impl AsRef<Path>,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid("policy", format!("cannot read `{}`: {e}", path.display()))
        })?;
        self.apply_policy_text(&text, PolicyFormat::from_path(path), mode, actor)
    }
}

/// Records a rule's status change and its `rule.status_changed` event.
fn status_changed(tx: &mut dyn Tx, change: &RuleStatusChange) -> Result<()> {
    tx.insert_rule_status_change(change)?;
    tx.append_event(
        &NewEvent::of(
            EventType::RuleStatusChanged,
            change.changed_at,
            &change.rule_name,
            change,
        )
        .by(Some(&change.actor)),
    )?;
    Ok(())
}
