//! `Versioner`: Versioner in process, on an embedded SQLite file or a PostgreSQL database.
//!
//! Every method comes from [`crate::surface`]; this class only opens the store.

use crate::backend::{Backend, Slot};
use crate::error::guard;
use crate::options::ConnectOptions;
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
            let core = match input::opt_string(&path, "path")?.as_deref() {
                None | Some(":memory:") => versioner_core::Versioner::open_in_memory()?,
                Some(p) => versioner_core::Versioner::open(p)?,
            };
            Ok(Versioner::over(core))
        })
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host/db` or a
    /// libpq `host=… dbname=…` string), running pending migrations, and resolves to a
    /// `Versioner` on it. Asynchronous because connecting is network I/O: it runs on the libuv
    /// thread pool. Several processes may share the database; the preflight stays atomic
    /// across them.
    ///
    /// Rejects with `INVALID_INPUT` for a malformed URL (`field` `databaseUrl`) or option,
    /// and `STORAGE` when the database cannot be reached or was written by a newer Versioner.
    #[napi(
        catch_unwind,
        ts_args_type = "url: string, options?: ConnectOptions | undefined | null",
        ts_return_type = "Promise<Versioner>"
    )]
    pub fn connect(url: Unknown<'_>, options: Unknown<'_>) -> AsyncTask<Op<Versioner>> {
        let url = input::string(&url, "url");
        let options =
            input::options::<ConnectOptions>(&options, "options", true).and_then(|o| o.to_core());
        Op::run(move || {
            let core = versioner_core::Versioner::connect_with(&url?, &options?)?;
            Ok(Versioner::over(core))
        })
    }
}

tracker_methods!(Versioner);
