//! One option scheme for the whole module, and the spellings it replaced.
//!
//! A product or an environment is `productName` / `environmentName` in every option object
//! (the public API's `product_name` / `environment_name`, camelCased as every option is).
//! Two spellings predate the rule and keep working for one release, each emitting a
//! `DeprecationWarning` through `process.emitWarning`: `approve({ environment })` (now
//! `environmentName`) and `deployment(options, callback)` (now `deploying(options,
//! callback)`; `deployment(id)` keeps its one meaning, the lookup).

use napi::Env;
use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object, Unknown};
use versioner_core::{ApprovalRequest, Error};

use crate::input;
use crate::options::{ApprovalOptions, into_core};

/// Emits `message` as a `DeprecationWarning` (`process.emitWarning`).
pub(crate) fn deprecated(env: &Env, message: &str) -> napi::Result<()> {
    let process: Object<'_> = env.get_global()?.get_named_property("process")?;
    let emit: Function<'_, FnArgs<(String, String)>, Unknown<'_>> =
        process.get_named_property("emitWarning")?;
    emit.call((message.to_string(), "DeprecationWarning".to_string()).into())?;
    Ok(())
}

/// `approve(options)`'s request: `environmentName`, or the deprecated `environment` (with a
/// warning); both is `INVALID_INPUT`.
pub(crate) fn approval(
    env: &Env,
    options: &Unknown<'_>,
) -> versioner_core::Result<ApprovalRequest> {
    let mut o: ApprovalOptions = input::options(options, "options", false)?;
    match (&o.environment_name, &o.environment) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "environment",
                "is the deprecated spelling of `environmentName`; give `environmentName` only",
            ));
        }
        (None, Some(_)) => {
            deprecated(
                env,
                "approve({ environment }) is deprecated and will be removed in the next release; \
                 use approve({ environmentName })",
            )
            .map_err(|e| Error::internal(format!("cannot warn: {e}")))?;
        }
        _ => o.environment = o.environment_name.take(),
    }
    o.environment_name = None;
    into_core::<ApprovalOptions, ApprovalRequest>(&o)
}
