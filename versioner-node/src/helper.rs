//! `deployment(options, callback)`: started, the callback, then completed or failed.
//!
//! The helper is a promise chain built on the JavaScript thread:
//!
//! ```text
//! started ──then──▶ callback(deployment) ──then──▶ completed ──▶ resolves to the callback's value
//!    │                   │ throws / rejects
//!    │                   └──────catch──────▶ failed ──▶ rejects with the callback's error
//!    └─ blocked / invalid: rejects as is (nothing was started, so nothing is closed)
//! ```
//!
//! One `catch` at the end sees every rejection, so a [`Stage`] records how far the chain
//! got: only a failure of the callback itself sends `failed`. Values and errors are handed
//! on as they are (the callback's error is rethrown, not copied). Each core call runs on the
//! thread pool like every other method.

use std::cell::Cell;
use std::rc::Rc;

use napi::bindgen_prelude::{
    CallbackContext, Either, Function, JsObjectValue, Object, ObjectRef, PromiseRaw, Unknown,
};
use napi::{Env, JsValue, ScopedTask, ValueType};
use versioner_core::{DeploymentEvent, Error};

use crate::backend::Backend;
use crate::error::{from_panic, to_js};
use crate::input;
use crate::options::{DeploymentOptions, into_core};
use crate::records::Deployment;
use crate::task::Op;

/// How far a helper's chain has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sending `started` (a rejection here is the preflight's or the input's).
    Starting,
    /// The callback is running (a rejection here is the callback's).
    Running,
    /// Sending `completed` (a rejection here is the recording's).
    Completing,
}

type AnyPromise<'a> = PromiseRaw<'a, Unknown<'a>>;

/// The same promise, typed as resolving to any JavaScript value.
fn erase<'a>(env: &Env, promise: &impl JsValue<'a>) -> AnyPromise<'a> {
    PromiseRaw::new(env.raw(), promise.raw())
}

/// A promise rejected with `err`.
pub(crate) fn rejected<'a>(env: &Env, err: &Error) -> napi::Result<AnyPromise<'a>> {
    let p: PromiseRaw<'_, Unknown<'_>> = PromiseRaw::reject(env, to_js(env, err))?;
    Ok(erase(env, &p))
}

fn spawn<'a, T>(env: &Env, task: T) -> napi::Result<AnyPromise<'a>>
where
    T: ScopedTask<'a> + 'a,
{
    let work = env.spawn(task)?;
    Ok(erase(env, &work.promise_object()))
}

/// `deployment(id)` or `deployment(options, callback)`.
pub(crate) fn deployment<'env>(
    env: &'env Env,
    backend: &Backend,
    arg: &Unknown<'env>,
    callback: Option<Either<Function<'env, Unknown<'env>, Unknown<'env>>, Unknown<'env>>>,
) -> napi::Result<AnyPromise<'env>> {
    let by_id = arg.get_type()? == ValueType::String;
    match (by_id, callback) {
        (true, None) => {
            let backend = backend.clone();
            let id = input::string(arg, "id");
            spawn(
                env,
                Op::new(move || Ok(Deployment::from(backend.tracker().deployment(&id?)?))),
            )
        }
        (true, Some(_)) => rejected(
            env,
            &Error::invalid(
                "callback",
                "is not used with an id; pass deployment options to run a deployment",
            ),
        ),
        (false, None) => rejected(
            env,
            &Error::invalid(
                "callback",
                "is required: deploying(options, async (deployment) => { ... }), or \
                 deployment(id) to look one up",
            ),
        ),
        (false, Some(Either::B(_))) => {
            rejected(env, &Error::invalid("callback", "must be a function"))
        }
        (false, Some(Either::A(f))) => {
            crate::naming::deprecated(
                env,
                "deployment(options, callback) is deprecated and will be removed in the next \
                 release; use deploying(options, callback) (deployment(id) stays)",
            )?;
            run(env, backend, arg, &f)
        }
    }
}

/// `deploying(options, callback)`.
pub(crate) fn deploying<'env>(
    env: &'env Env,
    backend: &Backend,
    arg: &Unknown<'env>,
    callback: Option<Either<Function<'env, Unknown<'env>, Unknown<'env>>, Unknown<'env>>>,
) -> napi::Result<AnyPromise<'env>> {
    match callback {
        Some(Either::A(f)) => run(env, backend, arg, &f),
        Some(Either::B(_)) => rejected(env, &Error::invalid("callback", "must be a function")),
        None => rejected(
            env,
            &Error::invalid(
                "callback",
                "is required: deploying(options, async (deployment) => { ... })",
            ),
        ),
    }
}

fn events(arg: &Unknown<'_>) -> versioner_core::Result<[DeploymentEvent; 3]> {
    let options: DeploymentOptions = input::options(arg, "options", false)?;
    if !options.status.is_empty() {
        return Err(Error::invalid(
            "status",
            "is sent by the deployment helper itself (started, then completed or failed); \
             leave it out",
        ));
    }
    let with = |status: &str| {
        let mut o = options.clone();
        o.status = status.to_string();
        into_core::<_, DeploymentEvent>(&o)
    };
    Ok([with("started")?, with("completed")?, with("failed")?])
}

fn run<'env>(
    env: &'env Env,
    backend: &Backend,
    arg: &Unknown<'env>,
    callback: &Function<'env, Unknown<'env>, Unknown<'env>>,
) -> napi::Result<AnyPromise<'env>> {
    let [started, completed, failed] = match events(arg) {
        Ok(events) => events,
        Err(e) => return rejected(env, &e),
    };
    let stage = Rc::new(Cell::new(Stage::Starting));
    let callback = callback.create_ref()?;

    let starting = {
        let backend = backend.clone();
        spawn(
            env,
            Op::new(move || {
                Ok(Deployment::from(
                    backend.tracker().track_deployment(&started)?,
                ))
            }),
        )?
    };

    let running = {
        let stage = Rc::clone(&stage);
        let p = starting.then(move |ctx: CallbackContext<Unknown<'_>>| {
            stage.set(Stage::Running);
            let env = ctx.env;
            let f = callback.borrow_back(&env)?;
            // A synchronous throw becomes a rejection, like an async callback's.
            let p: AnyPromise<'_> = match f.call(ctx.value) {
                Ok(value) => PromiseRaw::resolve(&env, value)?,
                Err(thrown) => PromiseRaw::reject(&env, thrown)?,
            };
            Ok(erase(&env, &p))
        })?;
        erase(env, &p)
    };

    let completing = {
        let stage = Rc::clone(&stage);
        let backend = backend.clone();
        let p = running.then(move |ctx: CallbackContext<Unknown<'_>>| {
            stage.set(Stage::Completing);
            let env = ctx.env;
            let task = Finish::new(&env, &ctx.value, OnError::Reject, move || {
                backend.tracker().track_deployment(&completed).map(drop)
            })?;
            spawn(&env, task)
        })?;
        erase(env, &p)
    };

    let backend = backend.clone();
    let done = completing.catch(move |ctx: CallbackContext<Unknown<'_>>| {
        let env = ctx.env;
        match stage.get() {
            // Nothing was started, or the callback succeeded: pass the rejection on.
            Stage::Starting | Stage::Completing => {
                let p: AnyPromise<'_> = PromiseRaw::reject(&env, ctx.value)?;
                Ok(erase(&env, &p))
            }
            Stage::Running => {
                let task = Finish::new(&env, &ctx.value, OnError::Ignore, move || {
                    backend.tracker().track_deployment(&failed).map(drop)
                })?;
                // Finish resolves with the callback's error once `failed` is recorded; throw it.
                let recorded = spawn(&env, task)?;
                let p = recorded.then(|ctx: CallbackContext<Unknown<'_>>| {
                    let p: AnyPromise<'_> = PromiseRaw::reject(&ctx.env, ctx.value)?;
                    Ok(erase(&ctx.env, &p))
                })?;
                Ok(erase(&env, &p))
            }
        }
    })?;
    Ok(erase(env, &done))
}

/// What a [`Finish`] does when recording its event fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    /// Reject with the recording error (`completed` could not be recorded).
    Reject,
    /// Ignore it: the callback's own error, rethrown next, is what the caller needs.
    Ignore,
}

/// Records `completed` or `failed` on the thread pool, then resolves with the value the
/// callback produced (its result, or its error for the caller to rethrow).
///
/// The value is kept in a wrapper object (`{ v }`) because Node-API before version 10 can
/// only reference objects, and the value is often `undefined`.
struct Finish {
    job: Option<Box<dyn FnOnce() -> versioner_core::Result<()> + Send>>,
    carried: Option<ObjectRef>,
    on_error: OnError,
}

impl Finish {
    fn new(
        env: &Env,
        value: &Unknown<'_>,
        on_error: OnError,
        job: impl FnOnce() -> versioner_core::Result<()> + Send + 'static,
    ) -> napi::Result<Finish> {
        let mut wrapper = Object::new(env)?;
        wrapper.set("v", *value)?;
        Ok(Finish {
            job: Some(Box::new(job)),
            carried: Some(wrapper.create_ref()?),
            on_error,
        })
    }
}

impl<'env> ScopedTask<'env> for Finish {
    type Output = versioner_core::Result<()>;
    type JsValue = Unknown<'env>;

    fn compute(&mut self) -> napi::Result<versioner_core::Result<()>> {
        let Some(job) = self.job.take() else {
            return Ok(Err(Error::internal("a task ran twice")));
        };
        Ok(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            .unwrap_or_else(|payload| Err(from_panic(payload.as_ref()))))
    }

    fn resolve(
        &mut self,
        env: &'env Env,
        output: versioner_core::Result<()>,
    ) -> napi::Result<Unknown<'env>> {
        if let (OnError::Reject, Err(e)) = (self.on_error, &output) {
            return Err(to_js(env, e));
        }
        match &self.carried {
            Some(r) => r.get_value(env)?.get_named_property("v"),
            None => Err(to_js(
                env,
                &Error::internal("the callback's value was lost"),
            )),
        }
    }

    fn finally(mut self, env: Env) -> napi::Result<()> {
        match self.carried.take() {
            Some(r) => r.unref(&env),
            None => Ok(()),
        }
    }
}
