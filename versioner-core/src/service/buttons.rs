//! Variables and deployment buttons, kept in the policy's settings (`variables`,
//! `deployment_buttons`): managed by the roles that manage rules (the reference's "manage
//! variables & templates": admin, release_manager, sre), read by every role that reads.

use std::collections::BTreeMap;

use crate::access::Permission;
use crate::buttons::{
    ButtonRequest, DeploymentButton, RenderedButton, Variable, VariableRequest, check_template,
    render, variable_name,
};
use crate::error::{Error, Result};
use crate::store::{self, LockScope, Tx};

use super::{Versioner, find_product, find_version};

const VARIABLES: &str = "variables";
const BUTTONS: &str = "deployment_buttons";

fn load<T: serde::de::DeserializeOwned>(tx: &mut dyn Tx, setting: &str) -> Result<Vec<T>> {
    match tx.setting(setting)? {
        None => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| Error::internal(format!("the `{setting}` setting is unreadable: {e}"))),
    }
}

fn save<T: serde::Serialize>(
    tx: &mut dyn Tx,
    setting: &str,
    items: &[T],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let v = serde_json::to_value(items)
        .map_err(|e| Error::internal(format!("cannot encode `{setting}`: {e}")))?;
    let v = (!items.is_empty()).then_some(v);
    tx.put_setting(setting, v.as_ref(), now)
}

fn same_scope(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => crate::names::key(a) == crate::names::key(b),
        _ => false,
    }
}

/// Applies a policy's `[[variables]]` inside its transaction: declared variables are set; in
/// replace mode, variables an earlier policy declared and this one does not are removed.
/// Variables set over the API are replaced only by a declaration of the same name and scope.
pub(super) fn apply_declared(
    tx: &mut dyn Tx,
    acting: &super::access::Acting,
    declared: Option<&[VariableRequest]>,
    mode: crate::policy::ApplyMode,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    if declared.is_none() && mode == crate::policy::ApplyMode::Merge {
        return Ok(());
    }
    let wanted = declared.unwrap_or(&[]);
    let before: Vec<Variable> = load(tx, VARIABLES)?;
    let mut after: Vec<Variable> = before
        .iter()
        .filter(|v| {
            let replaced = wanted.iter().any(|w| {
                w.name == v.name && same_scope(w.product.as_deref(), v.product.as_deref())
            });
            let dropped = v.declared && mode == crate::policy::ApplyMode::Replace;
            !(replaced || dropped)
        })
        .cloned()
        .collect();
    for w in wanted {
        let old = before
            .iter()
            .find(|v| v.name == w.name && same_scope(w.product.as_deref(), v.product.as_deref()));
        after.push(Variable {
            name: w.name.clone(),
            value: w.value.clone(),
            product: w.product.clone(),
            updated_at: match old {
                Some(o) if o.value == w.value && o.declared => o.updated_at,
                _ => now,
            },
            declared: true,
        });
    }
    let key = |v: &Variable| (v.product.clone(), v.name.clone());
    let mut a = before.clone();
    let mut b = after.clone();
    a.sort_by_key(key);
    b.sort_by_key(key);
    if a != b {
        acting.require(Permission::ManageRules)?;
        save(tx, VARIABLES, &after, now)?;
    }
    Ok(())
}

impl Versioner {
    /// Sets a variable (organization scope, or a recorded product's), replacing its value.
    ///
    /// # Errors
    /// `INVALID_INPUT` for a bad or reserved (`vi_`) name; `NOT_FOUND` for an unknown
    /// product; `FORBIDDEN` when the actor may not manage variables; `STORAGE`.
    pub fn set_variable(&self, request: &VariableRequest) -> Result<Variable> {
        let name = variable_name(&request.name)?;
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            self.acting_in(tx)?.require(Permission::ManageRules)?;
            let product = match &request.product {
                Some(p) => Some(find_product(tx, p)?.name),
                None => None,
            };
            let mut all: Vec<Variable> = load(tx, VARIABLES)?;
            all.retain(|v| {
                !(v.name == name && same_scope(v.product.as_deref(), product.as_deref()))
            });
            let variable = Variable {
                name: name.clone(),
                value: request.value.clone(),
                product,
                updated_at: now,
                declared: false,
            };
            all.push(variable.clone());
            save(tx, VARIABLES, &all, now)?;
            Ok(variable)
        })
    }

    /// The variables of a scope (the organization's when `product` is `None`), by name.
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not read; `STORAGE`.
    pub fn variables(&self, product: Option<&str>) -> Result<Vec<Variable>> {
        self.acting()?.require(Permission::Read)?;
        let mut list: Vec<Variable> = store::read(&*self.store, |tx| load(tx, VARIABLES))?;
        list.retain(|v| same_scope(v.product.as_deref(), product));
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// Removes a variable from a scope. Buttons naming it then fail to render with
    /// `Missing variable: NAME`.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN` when the actor may not manage variables; `STORAGE`.
    pub fn remove_variable(&self, name: &str, product: Option<&str>) -> Result<()> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            self.acting_in(tx)?.require(Permission::ManageRules)?;
            let mut all: Vec<Variable> = load(tx, VARIABLES)?;
            let before = all.len();
            all.retain(|v| !(v.name == name.trim() && same_scope(v.product.as_deref(), product)));
            if all.len() == before {
                return Err(Error::NotFound {
                    kind: "variable",
                    name: name.trim().to_string(),
                });
            }
            save(tx, VARIABLES, &all, now)
        })
    }

    /// Adds a deployment button to a recorded product. Its template must be an http or https
    /// URL, and no other button of the product may deploy to one of its environments.
    ///
    /// # Errors
    /// `INVALID_INPUT` (a bad template, no environment, an environment another button has);
    /// `NOT_FOUND` for an unknown product; `FORBIDDEN`; `STORAGE`.
    pub fn add_deployment_button(&self, request: &ButtonRequest) -> Result<DeploymentButton> {
        check_template(&request.url_template)?;
        let name = crate::event::required("name", Some(&request.name), 100)?;
        let environments: Vec<String> = request
            .environments
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect();
        if environments.is_empty() {
            return Err(Error::invalid(
                "environments",
                "name at least one environment",
            ));
        }
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            self.acting_in(tx)?.require(Permission::ManageRules)?;
            let product = find_product(tx, &request.product)?.name;
            let mut all: Vec<DeploymentButton> = load(tx, BUTTONS)?;
            for b in all
                .iter()
                .filter(|b| same_scope(Some(&b.product), Some(&product)))
            {
                if let Some(env) = environments.iter().find(|e| {
                    b.environments
                        .iter()
                        .any(|x| crate::names::key(x) == crate::names::key(e))
                }) {
                    return Err(Error::invalid(
                        "environments",
                        format!(
                            "`{product}` already has a button for `{env}` (`{}`): one template per environment per product",
                            b.name
                        ),
                    ));
                }
            }
            let button = DeploymentButton {
                id: uuid::Uuid::now_v7().to_string(),
                product,
                name: name.clone(),
                url_template: request.url_template.trim().to_string(),
                environments: environments.clone(),
                enabled: request.enabled,
                created_at: now,
            };
            all.push(button.clone());
            save(tx, BUTTONS, &all, now)?;
            Ok(button)
        })
    }

    /// The deployment buttons of a product (every product's when `None`).
    ///
    /// # Errors
    /// `FORBIDDEN` when the actor may not read; `STORAGE`.
    pub fn deployment_buttons(&self, product: Option<&str>) -> Result<Vec<DeploymentButton>> {
        self.acting()?.require(Permission::Read)?;
        let mut list: Vec<DeploymentButton> = store::read(&*self.store, |tx| load(tx, BUTTONS))?;
        if let Some(p) = product {
            list.retain(|b| same_scope(Some(&b.product), Some(p)));
        }
        Ok(list)
    }

    /// Removes a deployment button.
    ///
    /// # Errors
    /// `NOT_FOUND`; `FORBIDDEN`; `STORAGE`.
    pub fn remove_deployment_button(&self, id: &str) -> Result<()> {
        let now = self.now();
        store::write(&*self.store, &LockScope::Global, |tx| {
            self.acting_in(tx)?.require(Permission::ManageRules)?;
            let mut all: Vec<DeploymentButton> = load(tx, BUTTONS)?;
            let before = all.len();
            all.retain(|b| b.id != id.trim());
            if all.len() == before {
                return Err(Error::NotFound {
                    kind: "deployment button",
                    name: id.trim().to_string(),
                });
            }
            save(tx, BUTTONS, &all, now)
        })
    }

    /// The enabled buttons of a recorded version, rendered for each of their environments:
    /// the organization's variables, overridden by the product's, then the system variables.
    /// A button naming a variable without a value has no `url` and says why in `error`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown product or version; `FORBIDDEN`; `STORAGE`.
    pub fn version_buttons(&self, product: &str, version: &str) -> Result<Vec<RenderedButton>> {
        self.acting()?.require(Permission::Read)?;
        store::read(&*self.store, |tx| {
            let (_, v) = find_version(tx, product, version)?;
            let variables: Vec<Variable> = load(tx, VARIABLES)?;
            let buttons: Vec<DeploymentButton> = load(tx, BUTTONS)?;
            let mut base: BTreeMap<String, String> = BTreeMap::new();
            for scope_is_product in [false, true] {
                for var in variables.iter().filter(|x| {
                    x.product.is_some() == scope_is_product
                        && (!scope_is_product
                            || same_scope(x.product.as_deref(), Some(&v.product_name)))
                }) {
                    base.insert(var.name.clone(), var.value.clone());
                }
            }
            base.insert("vi_version".into(), v.version.clone());
            base.insert("vi_product_id".into(), v.product_id.clone());
            base.insert("vi_product_name".into(), v.product_name.clone());
            if let Some(n) = &v.build_number {
                base.insert("vi_build_number".into(), n.clone());
            }
            if let Some(sha) = &v.scm_sha {
                base.insert("vi_sha".into(), sha.clone());
            }
            let mut out = Vec::new();
            for b in buttons
                .iter()
                .filter(|b| b.enabled && same_scope(Some(&b.product), Some(&v.product_name)))
            {
                for env in &b.environments {
                    let mut vars = base.clone();
                    vars.insert("vi_environment_name".into(), env.clone());
                    if let Some(e) = tx.environment(env)? {
                        vars.insert("vi_environment_id".into(), e.id.clone());
                    }
                    let (url, error) = match render(&b.url_template, &vars) {
                        Ok(u) => (Some(u), None),
                        Err(Error::InvalidInput { reason, .. }) => (None, Some(reason)),
                        Err(e) => return Err(e),
                    };
                    out.push(RenderedButton {
                        button_id: b.id.clone(),
                        name: b.name.clone(),
                        environment: env.clone(),
                        url,
                        error,
                    });
                }
            }
            Ok(out)
        })
    }
}
