//! `Versioner`: Versioner in process, on an embedded SQLite file.
//!
//! The shared tracking and query methods come from [`crate::surface`]; the rule editing and
//! lookups below exist only in process.

use crate::backend::Backend;
use crate::error::guard;
use crate::options::RuleDefinition;
use crate::records::{RuleStatusChange, StoredRule};
use crate::surface::prelude::*;
use crate::surface::tracker_methods;

/// Versioner, in process, on an embedded SQLite file: track builds and deployments, enforce
/// the preflight, answer queries. Every method that touches storage returns a promise and
/// runs on the libuv thread pool; an instance may be used by many calls at once.
#[napi]
pub struct Versioner {
    inner: versioner_core::Versioner,
    backend: Backend,
}

impl Versioner {
    fn local(&self) -> versioner_core::Versioner {
        self.inner.clone()
    }
}

#[napi]
impl Versioner {
    /// Opens (creating if needed) the SQLite database at `path`, with durable defaults; no
    /// path (or `":memory:"`) opens a private in-memory database.
    ///
    /// Throws `STORAGE` when the file cannot be opened or was written by a newer Versioner.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "path?: string | undefined | null"
    )]
    pub fn new(env: Env, path: Unknown<'_>) -> napi::Result<Versioner> {
        guard(&env, || {
            let inner = match input::opt_string(&path, "path")?.as_deref() {
                None | Some(":memory:") => versioner_core::Versioner::open_in_memory()?,
                Some(p) => versioner_core::Versioner::open(p)?,
            };
            Ok(Versioner {
                backend: Backend::Local(inner.clone()),
                inner,
            })
        })
    }

    /// A rule by name (rejects with `NOT_FOUND`).
    #[napi(
        catch_unwind,
        ts_args_type = "name: string",
        ts_return_type = "Promise<StoredRule>"
    )]
    pub fn rule(&self, name: Unknown<'_>) -> AsyncTask<Op<StoredRule>> {
        let vr = self.local();
        let name = input::string(&name, "name");
        Op::run(move || from_core(&vr.rule(&name?)?))
    }

    /// Adds a rule at the end of the evaluation order. Rejects with `INVALID_INPUT` (every
    /// problem in `problems`) when the rule is invalid or its name is taken.
    #[napi(
        catch_unwind,
        ts_args_type = "rule: RuleDefinition",
        ts_return_type = "Promise<StoredRule>"
    )]
    pub fn add_rule(&self, rule: Unknown<'_>) -> AsyncTask<Op<StoredRule>> {
        let vr = self.local();
        let rule = input::options::<RuleDefinition>(&rule, "rule", false).and_then(|r| r.to_rule());
        Op::run(move || from_core(&vr.add_rule(&rule?)?))
    }

    /// Replaces the rule named `name` (the new definition may rename it); a status change is
    /// recorded in the rule's history.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, rule: RuleDefinition",
        ts_return_type = "Promise<StoredRule>"
    )]
    pub fn update_rule(&self, name: Unknown<'_>, rule: Unknown<'_>) -> AsyncTask<Op<StoredRule>> {
        let vr = self.local();
        let name = input::string(&name, "name");
        let rule = input::options::<RuleDefinition>(&rule, "rule", false).and_then(|r| r.to_rule());
        Op::run(move || from_core(&vr.update_rule(&name?, &rule?)?))
    }

    /// Deletes a rule (rejects with `NOT_FOUND`).
    #[napi(
        catch_unwind,
        ts_args_type = "name: string",
        ts_return_type = "Promise<void>"
    )]
    pub fn delete_rule(&self, name: Unknown<'_>) -> AsyncTask<Op<()>> {
        let vr = self.local();
        let name = input::string(&name, "name");
        Op::run(move || vr.delete_rule(&name?))
    }

    /// The status history of one rule, or of every rule, oldest first.
    #[napi(
        catch_unwind,
        ts_args_type = "name?: string | undefined | null",
        ts_return_type = "Promise<Array<RuleStatusChange>>"
    )]
    pub fn rule_history(&self, name: Unknown<'_>) -> AsyncTask<Op<Vec<RuleStatusChange>>> {
        let vr = self.local();
        let name = input::opt_string(&name, "name");
        Op::run(move || {
            vr.rule_history(name?.as_deref())?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// One version of a product (rejects with `NOT_FOUND`).
    #[napi(
        catch_unwind,
        ts_args_type = "productName: string, version: string",
        ts_return_type = "Promise<Version>"
    )]
    pub fn version(
        &self,
        product_name: Unknown<'_>,
        version: Unknown<'_>,
    ) -> AsyncTask<Op<Version>> {
        let vr = self.local();
        let product = input::string(&product_name, "productName");
        let version = input::string(&version, "version");
        Op::run(move || from_core(&vr.version(&product?, &version?)?))
    }

    /// Overrides an environment's type, or with `null` returns it to inference from the
    /// name. The environment is created if it does not exist yet.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, type: EnvironmentType | null",
        ts_return_type = "Promise<Environment>"
    )]
    pub fn set_environment_type(
        &self,
        name: Unknown<'_>,
        env_type: Unknown<'_>,
    ) -> AsyncTask<Op<Environment>> {
        let vr = self.local();
        let name = input::string(&name, "name");
        let env_type = input::opt_string(&env_type, "type");
        Op::run(move || {
            let ty = env_type?
                .map(|t| t.parse::<versioner_core::EnvironmentType>())
                .transpose()?;
            from_core(&vr.set_environment_type(&name?, ty)?)
        })
    }
}

tracker_methods!(Versioner);
