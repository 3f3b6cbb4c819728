//! Deliberate panics, so the suite can check that a Rust panic never kills the process.
//! Hidden from the TypeScript definitions; not part of the API.

use napi::Env;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::error::guard;
use crate::task::Op;

#[expect(clippy::panic, reason = "the point of these functions")]
fn boom(what: &str) -> ! {
    panic!("deliberate panic for tests ({what})")
}

/// Panics on the JavaScript thread inside the guard: throws `INTERNAL`.
#[napi(js_name = "__panicForTests", skip_typescript, catch_unwind)]
pub fn panic_for_tests(env: Env) -> napi::Result<()> {
    guard(&env, || boom("guarded"))
}

/// Panics on the JavaScript thread outside any guard: napi-rs's `catch_unwind` throws.
#[napi(js_name = "__panicUnguardedForTests", skip_typescript, catch_unwind)]
pub fn panic_unguarded_for_tests() {
    boom("unguarded")
}

/// Panics on the thread pool: the promise rejects with `INTERNAL`.
#[napi(js_name = "__panicInTaskForTests", skip_typescript, catch_unwind)]
pub fn panic_in_task_for_tests() -> AsyncTask<Op<()>> {
    Op::run(|| boom("in a task"))
}
