//! `Versioner`: Versioner in process, on an embedded SQLite file or a PostgreSQL database.
//!
//! Every method comes from [`crate::surface`]; this class only opens the store, at a location
//! and with options the core reads (`versioner_core::input`).

use crate::backend::{Backend, Slot};
use crate::error::guard;
use versioner_core::input::Location;

use versioner_core::buttons::{ButtonRequest, VariableRequest};
use versioner_core::notify::{ChannelRequest, HistoryFilter, PreferenceRequest};

use crate::options::{ButtonOptions, NotificationHistoryOptions, PreferenceOptions, into_core};
use crate::records::{
    AuditReport, DeliveryReport, DeploymentButton, DomainEvent, NotificationChannel,
    NotificationDelivery, NotificationPreference, RenderedButton, ReplayChange, Variable,
};
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
            backend: Slot::new(Backend::local(core)),
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
            Ok(Versioner::over(
                self.backend.open()?.versioner()?.acting_as(who),
            ))
        })
    }
}

/// What only the in-process service offers: replaying decisions, the audit chain, and the
/// stream of domain events with its consumers' cursors.
#[napi]
impl Versioner {
    /// Re-evaluates every decision recorded since `since`, oldest first, against the facts
    /// it was decided on, under `policy` — a candidate, as `applyPolicy` takes one (`{ rules }`,
    /// an array of rules, policy text or a file name) — or, when absent, the policy then in
    /// force, and resolves to those that would now be decided otherwise (`was` → `now`).
    /// Empty with the policy unchanged: run it before tightening a rule. Nothing is written.
    ///
    /// Rejects with `INVALID_INPUT` for a bad `since` or an invalid policy (`problems`).
    #[napi(
        catch_unwind,
        ts_args_type = "since: Date | string, policy?: PolicyDocument | Array<RuleDefinition> | string | undefined | null",
        ts_return_type = "Promise<Array<ReplayChange>>"
    )]
    pub fn replay(
        &self,
        since: Unknown<'_>,
        policy: Unknown<'_>,
    ) -> AsyncTask<Op<Vec<ReplayChange>>> {
        let b = self.backend.open();
        let since = input::required_instant(&since, "since");
        let policy = match input::to_json(&policy, "policy") {
            Ok(serde_json::Value::Null) => Ok(None),
            Ok(_) => policy_input(&policy, None).map(Some),
            Err(e) => Err(e),
        };
        Op::run(move || {
            let (since, policy, b) = (since?, policy?, b?);
            let candidate = policy.as_ref().map(PolicyInput::parse).transpose()?;
            b.versioner()?
                .replay(since, candidate.as_ref())?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Checks the audit chain — every recorded change, each event's hash chained to the
    /// previous one's — from the first event to the newest. A row edited, removed or inserted
    /// directly in the database is named by `firstMismatch` (with `reason`); when the chain
    /// holds, `firstMismatch` is absent and `head` is the newest hash.
    #[napi(catch_unwind, ts_return_type = "Promise<AuditReport>")]
    pub fn audit_verify(&self) -> AsyncTask<Op<AuditReport>> {
        let b = self.backend.open();
        Op::run(move || from_core(&b?.versioner()?.audit_verify()?))
    }

    /// Calls `listener` with each domain event committed from now on, in commit order, after
    /// its transaction commits; never for refused work. The call is queued on the event loop
    /// (never blocking it); an exception thrown by the listener is an uncaught exception of
    /// the process, never a failure of the operation. Returns a `Subscription`, which keeps
    /// the process alive (as a timer does) until its `cancel()`.
    #[napi(catch_unwind, ts_args_type = "listener: (event: DomainEvent) => void")]
    pub fn subscribe(
        &self,
        env: Env,
        listener: Function<'_, DomainEvent, ()>,
    ) -> napi::Result<crate::subscription::Subscription> {
        let tsfn = listener
            .build_threadsafe_function::<DomainEvent>()
            .build()?;
        guard(&env, || {
            let b = self.backend.open()?;
            let sub = b.versioner()?.subscribe(move |e| {
                if let Ok(event) = from_core::<_, DomainEvent>(e) {
                    let _ = tsfn.call(
                        event,
                        napi::threadsafe_function::ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }
            })?;
            Ok(crate::subscription::Subscription::new(sub))
        })
    }

    /// Delivers every notification channel's pending notifications once (until each is
    /// caught up), as `versioner serve` does continuously: webhooks, Slack and e-mail, retried
    /// on 5xx and network errors (3 attempts, 1 s then 2 s); a 4xx or a last failure is parked
    /// in the notification history. Runs on the libuv pool, never blocking the event loop.
    #[napi(catch_unwind, ts_return_type = "Promise<DeliveryReport>")]
    pub fn deliver_pending(&self) -> AsyncTask<Op<DeliveryReport>> {
        let b = self.backend.open();
        Op::run(move || from_core(&b?.versioner()?.deliver_pending()?))
    }

    /// The domain events with a sequence number above `after` (default 0: from the start;
    /// or a consumer's `cursor`), in commit order, at most `limit` (default 100, capped at
    /// 1000). Sequence numbers start at 1 with no gaps.
    ///
    /// Rejects with `INVALID_INPUT` for a negative `after` or a `limit` below 1.
    #[napi(
        catch_unwind,
        ts_args_type = "after?: number | undefined | null, limit?: number | undefined | null",
        ts_return_type = "Promise<Array<DomainEvent>>"
    )]
    pub fn events_since(
        &self,
        after: Unknown<'_>,
        limit: Unknown<'_>,
    ) -> AsyncTask<Op<Vec<DomainEvent>>> {
        let b = self.backend.open();
        let after = input::opt_integer(&after, "after").map(|n| n.unwrap_or(0));
        // The core refuses 0 and caps the rest at 1000.
        let limit = input::opt_integer(&limit, "limit").and_then(|n| match n.unwrap_or(100) {
            n if n < 0 => Err(versioner_core::Error::invalid(
                "limit",
                "must be at least 1",
            )),
            n => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        });
        Op::run(move || {
            let (after, limit) = (after?, limit?);
            b?.versioner()?
                .events_since(after, limit)?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// The sequence number of the newest event (0 when none).
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn last_event_seq(&self) -> AsyncTask<Op<i64>> {
        let b = self.backend.open();
        Op::run(move || b?.versioner()?.last_event_seq())
    }

    /// What the consumer named `consumer` has acknowledged: the sequence number to pass as
    /// `after` to `eventsSince` (0 at first). Rejects with `INVALID_INPUT` for a blank name.
    #[napi(
        catch_unwind,
        ts_args_type = "consumer: string",
        ts_return_type = "Promise<number>"
    )]
    pub fn cursor(&self, consumer: Unknown<'_>) -> AsyncTask<Op<i64>> {
        let b = self.backend.open();
        let consumer = input::string(&consumer, "consumer");
        Op::run(move || b?.versioner()?.cursor(&consumer?))
    }

    /// Records that `consumer` has processed every event up to `seq`: its cursor moves there
    /// (never back: acknowledging an older position changes nothing). Delivery is at least
    /// once — read from the cursor, deliver, then acknowledge.
    ///
    /// Rejects with `INVALID_INPUT` for a blank name, or a `seq` below 0 or beyond the newest
    /// event.
    #[napi(
        catch_unwind,
        ts_args_type = "consumer: string, seq: number",
        ts_return_type = "Promise<void>"
    )]
    pub fn acknowledge(&self, consumer: Unknown<'_>, seq: Unknown<'_>) -> AsyncTask<Op<()>> {
        let b = self.backend.open();
        let consumer = input::string(&consumer, "consumer");
        let seq = input::opt_integer(&seq, "seq")
            .and_then(|n| n.ok_or_else(|| versioner_core::Error::invalid("seq", "is required")));
        Op::run(move || b?.versioner()?.acknowledge(&consumer?, seq?))
    }
}

/// Variables and deployment buttons (in process): the variables of the organization and of
/// each product, the buttons of each product, and a version's rendered buttons.
#[napi]
impl Versioner {
    /// Sets the variable `name` to `value` at the organization's scope, or `product`'s (which
    /// overrides the organization's), and resolves to it. Names are lowercase letters, digits
    /// and underscores; the `vi_` prefix is reserved for the system variables.
    ///
    /// Rejects with `INVALID_INPUT` (`field` `name`) for a bad or reserved name, `NOT_FOUND`
    /// for an unknown product, `FORBIDDEN` when the actor may not manage variables; nothing is
    /// written.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, value: string, product?: string | undefined | null",
        ts_return_type = "Promise<Variable>"
    )]
    pub fn set_variable(
        &self,
        name: Unknown<'_>,
        value: Unknown<'_>,
        product: Unknown<'_>,
    ) -> AsyncTask<Op<Variable>> {
        let b = self.backend.open();
        let name = input::string(&name, "name");
        let value = input::string(&value, "value");
        let product = input::opt_string(&product, "product");
        Op::run(move || {
            let mut request = VariableRequest::new(name?, value?);
            request.product = product?;
            from_core(&b?.versioner()?.set_variable(&request)?)
        })
    }

    /// The variables of a scope (the organization's when `product` is absent), by name.
    #[napi(
        catch_unwind,
        ts_args_type = "product?: string | undefined | null",
        ts_return_type = "Promise<Array<Variable>>"
    )]
    pub fn variables(&self, product: Unknown<'_>) -> AsyncTask<Op<Vec<Variable>>> {
        let b = self.backend.open();
        let product = input::opt_string(&product, "product");
        Op::run(move || {
            let product = product?;
            b?.versioner()?
                .variables(product.as_deref())?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Removes the variable `name` from a scope (the organization's when `product` is
    /// absent). Rejects with `NOT_FOUND` when there is none.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, product?: string | undefined | null",
        ts_return_type = "Promise<void>"
    )]
    pub fn remove_variable(&self, name: Unknown<'_>, product: Unknown<'_>) -> AsyncTask<Op<()>> {
        let b = self.backend.open();
        let name = input::string(&name, "name");
        let product = input::opt_string(&product, "product");
        Op::run(move || {
            let product = product?;
            b?.versioner()?.remove_variable(&name?, product.as_deref())
        })
    }

    /// Adds a deployment button to a recorded product and resolves to it.
    ///
    /// Rejects with `INVALID_INPUT` for a scheme other than http(s) or a malformed template
    /// (`field` `urlTemplate`), no environment or one another button of the product has
    /// (`environments`); `NOT_FOUND` for an unknown product. Nothing is written.
    #[napi(
        catch_unwind,
        ts_args_type = "options: ButtonOptions",
        ts_return_type = "Promise<DeploymentButton>"
    )]
    pub fn add_deployment_button(&self, options: Unknown<'_>) -> AsyncTask<Op<DeploymentButton>> {
        let b = self.backend.open();
        let request = input::options::<ButtonOptions>(&options, "options", false)
            .and_then(|o| into_core::<_, ButtonRequest>(&o));
        Op::run(move || from_core(&b?.versioner()?.add_deployment_button(&request?)?))
    }

    /// The deployment buttons of `product` (every product's when absent).
    #[napi(
        catch_unwind,
        ts_args_type = "product?: string | undefined | null",
        ts_return_type = "Promise<Array<DeploymentButton>>"
    )]
    pub fn deployment_buttons(&self, product: Unknown<'_>) -> AsyncTask<Op<Vec<DeploymentButton>>> {
        let b = self.backend.open();
        let product = input::opt_string(&product, "product");
        Op::run(move || {
            let product = product?;
            b?.versioner()?
                .deployment_buttons(product.as_deref())?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Removes the deployment button `id`. Rejects with `NOT_FOUND` when there is none.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<void>"
    )]
    pub fn remove_deployment_button(&self, id: Unknown<'_>) -> AsyncTask<Op<()>> {
        let b = self.backend.open();
        let id = input::string(&id, "id");
        Op::run(move || b?.versioner()?.remove_deployment_button(&id?))
    }

    /// The enabled buttons of a recorded version, rendered for each of their environments:
    /// the organization's variables, overridden by the product's, then the system variables
    /// (`vi_version`, `vi_product_name`, `vi_environment_name`, `vi_sha`, ...), each value
    /// URL-encoded (RFC 3986). A button naming a variable without a value has no `url` and
    /// its `error` says `Missing variable: NAME`. Rejects with `NOT_FOUND` for an unknown
    /// product or version.
    #[napi(
        catch_unwind,
        ts_args_type = "productName: string, version: string",
        ts_return_type = "Promise<Array<RenderedButton>>"
    )]
    pub fn version_buttons(
        &self,
        product_name: Unknown<'_>,
        version: Unknown<'_>,
    ) -> AsyncTask<Op<Vec<RenderedButton>>> {
        let b = self.backend.open();
        let product = input::string(&product_name, "productName");
        let version = input::string(&version, "version");
        Op::run(move || {
            b?.versioner()?
                .version_buttons(&product?, &version?)?
                .iter()
                .map(from_core)
                .collect()
        })
    }
}

/// Notification configuration (in process): channels, preferences, the delivery history and
/// test notifications. Delivery itself is `deliverPending`.
#[napi]
impl Versioner {
    /// Every notification channel, by name; secrets and passwords masked, never returned.
    /// Rejects with `FORBIDDEN` when the actor may not manage notifications.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<NotificationChannel>>")]
    pub fn notification_channels(&self) -> AsyncTask<Op<Vec<NotificationChannel>>> {
        let b = self.backend.open();
        Op::run(move || {
            b?.versioner()?
                .notification_channels()?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Adds a notification channel and resolves to it, secrets masked: `channelType`
    /// `webhook` (`config`: `{ url, secret? }`), `slack_webhook` (`{ webhook_url }`) or
    /// `email` (`{ smtp_host, smtp_port?, from, to, username?, password?, tls? }`); the
    /// config keys are the wire's, as in a policy file. It is sent the events recorded from
    /// now on, once a preference subscribes it.
    ///
    /// Rejects with `INVALID_INPUT` for a blank or taken name, an unknown channel type or a
    /// bad config (`field` names the key, `config.url`); nothing is written.
    #[napi(
        catch_unwind,
        ts_args_type = "name: string, channelType: 'webhook' | 'slack_webhook' | 'email' | string, config: Record<string, unknown>",
        ts_return_type = "Promise<NotificationChannel>"
    )]
    pub fn add_notification_channel(
        &self,
        name: Unknown<'_>,
        channel_type: Unknown<'_>,
        config: Unknown<'_>,
    ) -> AsyncTask<Op<NotificationChannel>> {
        let b = self.backend.open();
        let name = input::string(&name, "name");
        let channel_type = input::string(&channel_type, "channelType");
        let config = input::to_json(&config, "config");
        Op::run(move || {
            let request = ChannelRequest::new(name?, channel_type?, config?);
            from_core(&b?.versioner()?.add_notification_channel(&request)?)
        })
    }

    /// Removes a channel (by id or name) and its preferences (its history stays), and
    /// resolves to it. Rejects with `NOT_FOUND` when there is none.
    #[napi(
        catch_unwind,
        ts_args_type = "channel: string",
        ts_return_type = "Promise<NotificationChannel>"
    )]
    pub fn remove_notification_channel(
        &self,
        channel: Unknown<'_>,
    ) -> AsyncTask<Op<NotificationChannel>> {
        let b = self.backend.open();
        let channel = input::string(&channel, "channel");
        Op::run(move || from_core(&b?.versioner()?.remove_notification_channel(&channel?)?))
    }

    /// Every notification preference, oldest first.
    #[napi(
        catch_unwind,
        ts_return_type = "Promise<Array<NotificationPreference>>"
    )]
    pub fn notification_preferences(&self) -> AsyncTask<Op<Vec<NotificationPreference>>> {
        let b = self.backend.open();
        Op::run(move || {
            b?.versioner()?
                .notification_preferences()?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Subscribes a channel to an event type (or `*`), with optional filters, and resolves to
    /// the preference. Rejects with `NOT_FOUND` for an unknown channel and `INVALID_INPUT` for
    /// an unknown event type or one the channel does not carry.
    #[napi(
        catch_unwind,
        ts_args_type = "options: PreferenceOptions",
        ts_return_type = "Promise<NotificationPreference>"
    )]
    pub fn add_notification_preference(
        &self,
        options: Unknown<'_>,
    ) -> AsyncTask<Op<NotificationPreference>> {
        let b = self.backend.open();
        let request = input::options::<PreferenceOptions>(&options, "options", false).map(|o| {
            let mut r = PreferenceRequest::new(o.channel_id, o.event_type);
            r.filters.environments = o.environments.unwrap_or_default();
            r.filters.products = o.products.unwrap_or_default();
            r.filters.statuses = o.statuses.unwrap_or_default();
            r
        });
        Op::run(move || from_core(&b?.versioner()?.add_notification_preference(&request?)?))
    }

    /// Removes the preference `id` and resolves to it. Rejects with `NOT_FOUND` when there is
    /// none.
    #[napi(
        catch_unwind,
        ts_args_type = "id: string",
        ts_return_type = "Promise<NotificationPreference>"
    )]
    pub fn remove_notification_preference(
        &self,
        id: Unknown<'_>,
    ) -> AsyncTask<Op<NotificationPreference>> {
        let b = self.backend.open();
        let id = input::string(&id, "id");
        Op::run(move || from_core(&b?.versioner()?.remove_notification_preference(&id?)?))
    }

    /// The notification history, newest first: every delivery attempt (status, response
    /// code, latency, error). Rejects with `NOT_FOUND` for an unknown channel and
    /// `INVALID_INPUT` for an unknown status or a limit outside 1–1000.
    #[napi(
        catch_unwind,
        ts_args_type = "options?: NotificationHistoryOptions | undefined | null",
        ts_return_type = "Promise<Array<NotificationDelivery>>"
    )]
    pub fn notification_history(
        &self,
        options: Unknown<'_>,
    ) -> AsyncTask<Op<Vec<NotificationDelivery>>> {
        let b = self.backend.open();
        let filter = input::options::<NotificationHistoryOptions>(&options, "options", true)
            .and_then(|o| {
                let mut f = HistoryFilter::default();
                f.channel = o.channel;
                f.status = o.status.as_deref().map(str::parse).transpose()?;
                f.limit = o.limit;
                Ok(f)
            });
        Op::run(move || {
            b?.versioner()?
                .notification_history(&filter?)?
                .iter()
                .map(from_core)
                .collect()
        })
    }

    /// Sends a test notification to a channel (by id or name), once, and resolves to the
    /// attempt as the history keeps it: a failed send does not reject (see `status` and
    /// `error`). A webhook receives `X-Versioner-Event: test`. Rejects with `NOT_FOUND` for an
    /// unknown channel.
    #[napi(
        catch_unwind,
        ts_args_type = "channel: string",
        ts_return_type = "Promise<NotificationDelivery>"
    )]
    pub fn send_test_notification(
        &self,
        channel: Unknown<'_>,
    ) -> AsyncTask<Op<NotificationDelivery>> {
        let b = self.backend.open();
        let channel = input::string(&channel, "channel");
        Op::run(move || from_core(&b?.versioner()?.send_test_notification(&channel?)?))
    }
}

tracker_methods!(Versioner);
