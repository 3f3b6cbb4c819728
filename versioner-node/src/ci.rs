//! `detectCi(env?)`: which CI system, repository, commit and run, from environment variables.

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;
use serde_json::Value;
use versioner_core::Error;
use versioner_core::ci;

use crate::error::guard;
use crate::input;
use crate::records::{CiInfo, from_core};

/// Detects the CI system and what it says about the run, from `env` (a map of variable
/// names to values, e.g. `process.env`) or, when omitted, from the process environment.
///
/// Throws `INVALID_INPUT` when `env` is not an object of strings.
#[napi(
    catch_unwind,
    ts_args_type = "env?: Record<string, string | undefined> | undefined | null"
)]
pub fn detect_ci(env: Env, vars: Unknown<'_>) -> napi::Result<CiInfo> {
    guard(&env, || {
        let info = match input::to_json(&vars, "env")? {
            Value::Null => ci::detect(),
            Value::Object(map) => {
                let mut vars = std::collections::HashMap::with_capacity(map.len());
                for (name, value) in map {
                    match value {
                        Value::String(s) => {
                            vars.insert(name, s);
                        }
                        Value::Null => {}
                        other => {
                            return Err(Error::invalid(
                                format!("env.{name}"),
                                format!("must be a string, found {}", input::kind(&other)),
                            ));
                        }
                    }
                }
                ci::detect_from_map(&vars)
            }
            other => {
                return Err(Error::invalid(
                    "env",
                    format!(
                        "must be an object of strings, found {}",
                        input::kind(&other)
                    ),
                ));
            }
        };
        let mut out: CiInfo = from_core(&info)?;
        out.source_system = info.source_system().to_string();
        Ok(out)
    })
}
