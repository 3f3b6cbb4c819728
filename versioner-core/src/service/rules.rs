//! Rules: add, edit, delete, change status, apply a policy.

use std::path::Path;

use crate::error::{Error, Result};
use crate::names;
use crate::outbox::{EventType, NewEvent};
use crate::policy::{ApplyMode, PolicyFile, PolicyFormat, Rule, RuleStatus};
use crate::store::{self, LockScope, RuleStatusChange, StoredRule, Tx};

use super::{ApplyReport, Versioner, find_rule};

impl Versioner {
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

    /// Adds a rule at the end of the evaluation order.
    ///
    /// # Errors
    /// `INVALID_INPUT` when the rule is invalid or its name is taken; `STORAGE`.
    pub fn add_rule(&self, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
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
            tx.append_event(&NewEvent::of(
                EventType::RuleCreated,
                now,
                &rule.name,
                &stored,
            ))?;
            Ok(stored)
        })
    }

    /// Replaces the rule named `name` with `rule` (which may rename it). A status change is
    /// recorded in the rule's history with `actor` "api".
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT`; `STORAGE`.
    pub fn update_rule(&self, name: &str, rule: &Rule) -> Result<StoredRule> {
        let rule = Rule::from_json(&rule.to_json())?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let old = find_rule(tx, name)?;
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
                        actor: "api".into(),
                        reason: "rule updated".into(),
                        changed_at: now,
                    },
                )?;
            }
            let stored = find_rule(tx, &rule.name)?;
            tx.append_event(&NewEvent::of(
                EventType::RuleUpdated,
                now,
                &rule.name,
                &stored,
            ))?;
            Ok(stored)
        })
    }

    /// Deletes a rule.
    ///
    /// # Errors
    /// `NOT_FOUND`; `STORAGE`.
    pub fn delete_rule(&self, name: &str) -> Result<()> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
            let old = find_rule(tx, name)?;
            tx.delete_rule(name)?;
            tx.append_event(&NewEvent::of(EventType::RuleDeleted, now, name, &old))?;
            Ok(())
        })
    }

    /// Changes a rule's status, recording who, when and why.
    ///
    /// # Errors
    /// `NOT_FOUND`; `INVALID_INPUT` when `actor` or `reason` is blank; `STORAGE`.
    pub fn set_rule_status(
        &self,
        name: &str,
        status: RuleStatus,
        actor: &str,
        reason: &str,
    ) -> Result<StoredRule> {
        let actor = crate::event::required("actor", Some(actor), 255)?;
        let reason = crate::event::required("reason", Some(reason), 1000)?;
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
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
    /// set; in [`ApplyMode::Merge`] its rules are added or updated by name. Status changes are
    /// recorded with `actor`. All or nothing.
    ///
    /// # Errors
    /// `STORAGE`.
    pub fn apply_policy(
        &self,
        policy: &PolicyFile,
        mode: ApplyMode,
        actor: &str,
    ) -> Result<ApplyReport> {
        let now = self.now();
        self.write(&LockScope::Global, |tx| {
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
                for s in &existing {
                    if !policy.rules.iter().any(|r| r.name == s.rule.name) {
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
