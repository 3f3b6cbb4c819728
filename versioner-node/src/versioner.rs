//! `Versioner`: Versioner in process, on an embedded SQLite file or a PostgreSQL database.
//!
//! Every method comes from [`crate::surface`]; this class only opens the store, at a location
//! and with options the core reads (`versioner_core::input`).

use crate::backend::{Backend, Slot};
use crate::error::guard;
use versioner_core::input::Location;

use crate::surface::prelude::*;
use crate::surface::tracker_methods;

/// Versioner, in process, on an embedded SQLite file (or a PostgreSQL database, with
/// `Versioner.connect`): track builds and deployments, enforce the preflight, answer queries.
/// Every method that touches storage returns a promise and runs on the libuv thread pool; an
/// instance may be used by many calls at once.
#[napi]
pub struct Versioner {
    backend: Slot,
}

impl Versioner {
    fn over(core: versioner_core::Versioner) -> Versioner {
        Versioner {
            backend: Slot::new(Backend::new(core)),
        }
    }
}

#[napi]
impl Versioner {
    /// Opens (creating if needed) the database at `path` with durable defaults: a SQLite
    /// file, `sqlite:PATH`, `":memory:"` or no path (a private in-memory database), or a
    /// `postgres://` URL (which connects on this thread; `Versioner.connect` does it on the
    /// thread pool). `options` are the store's: `SqliteOptions`, or `ConnectOptions` for a
    /// PostgreSQL URL. The core reads the path and the options, as in every binding.
    ///
    /// Throws `INVALID_INPUT` for an unknown option or a bad value (`field` names it), a
    /// blank path or a URL of another scheme (`field` `path`), and `STORAGE` when the file
    /// cannot be opened or was written by a newer Versioner.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "path?: string | undefined | null, options?: SqliteOptions | ConnectOptions | undefined | null"
    )]
    pub fn new(env: Env, path: Unknown<'_>, options: Unknown<'_>) -> napi::Result<Versioner> {
        guard(&env, || {
            let location = match input::opt_string(&path, "path")? {
                None => Location::Memory,
                Some(p) => Location::parse(&p)?,
            };
            let options = input::core_options(&options, "options")?;
            Ok(Versioner::over(location.open(&options)?))
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations, and resolves to a
    /// `Versioner` on it. Asynchronous because connecting is network I/O: it runs on the libuv
    /// thread pool. Several processes may share the database; the preflight stays atomic
    /// across them.
    ///
    /// Rejects with `INVALID_INPUT` for a malformed URL (`field` `databaseUrl`) or option
    /// (`field` names it), and `STORAGE` when the database cannot be reached or was written by
    /// a newer Versioner.
    #[napi(
        catch_unwind,
        ts_args_type = "url: string, options?: ConnectOptions | undefined | null",
        ts_return_type = "Promise<Versioner>"
    )]
    pub fn connect(url: Unknown<'_>, options: Unknown<'_>) -> AsyncTask<Op<Versioner>> {
        let url = input::string(&url, "url");
        let options = input::core_options(&options, "options");
        Op::run(move || {
            let core = Location::postgres(url?).open(&options?)?;
            Ok(Versioner::over(core))
        })
    }

    /// The same database, acting as `actor`: recorded on builds and deployments
    /// (`recordedBy`, and `builtBy` / `deployedBy` unless the event names someone), approvals
    /// and rule changes, and checked against its role — a registered principal's, else
    /// `role` when given, else admin. Both instances stay usable and share the store.
    ///
    /// Throws `INVALID_INPUT` for an unknown role (`field` `role`); a blank actor, or a role
    /// other than a registered principal's, is refused on the first write.
    #[napi(
        catch_unwind,
        ts_args_type = "actor: string, role?: string | undefined | null"
    )]
    pub fn acting_as(
        &self,
        env: Env,
        actor: Unknown<'_>,
        role: Unknown<'_>,
    ) -> napi::Result<Versioner> {
        guard(&env, || {
            let mut who = versioner_core::Actor::local(input::string(&actor, "actor")?);
            if let Some(r) = input::opt_string(&role, "role")? {
                who = who.with_role(r.parse::<versioner_core::Role>()?);
            }
            let core = self.backend.open()?.tracker().acting_as(who)?;
            Ok(Versioner {
                backend: Slot::new(Backend::from_arc(core)),
            })
        })
    }
}

tracker_methods!(Versioner);
