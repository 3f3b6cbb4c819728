//! Running core calls off the JavaScript thread.
//!
//! Every method that touches storage returns a promise backed by an [`Op`]: a napi-rs
//! [`Task`] that runs the core call, and its conversion to the JavaScript record, on the
//! libuv thread pool, then settles on the JavaScript thread, where a core error becomes a
//! decorated `Error` ([`crate::error::to_js`]). A panic in the call is caught and rejects
//! with `INTERNAL`: it never unwinds into libuv, which would abort the process.

use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{Env, Task};

type Job<T> = Box<dyn FnOnce() -> versioner_core::Result<T> + Send>;

/// One core call, run on the thread pool.
pub struct Op<T> {
    job: Option<Job<T>>,
}

impl<T> Op<T> {
    /// A task running `job`, to spawn by hand.
    pub(crate) fn new(job: impl FnOnce() -> versioner_core::Result<T> + Send + 'static) -> Op<T> {
        Op {
            job: Some(Box::new(job)),
        }
    }

    /// The promise of `job`'s result.
    pub(crate) fn run(
        job: impl FnOnce() -> versioner_core::Result<T> + Send + 'static,
    ) -> AsyncTask<Op<T>>
    where
        Op<T>: Task,
    {
        AsyncTask::new(Op {
            job: Some(Box::new(job)),
        })
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for Op<T> {
    type Output = versioner_core::Result<T>;
    type JsValue = T;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some(job) = self.job.take() else {
            return Ok(Err(versioner_core::Error::internal("a task ran twice")));
        };
        Ok(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            .unwrap_or_else(|payload| Err(crate::error::from_panic(payload.as_ref()))))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<T> {
        output.map_err(|e| crate::error::to_js(&env, &e))
    }
}
