//! The machinery every export shares: the unwind guard, the thread-local last error, and the
//! checked conversion of C arguments and results.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use versioner_core::{Error, wire};

use crate::status::VersionerStatus;

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// An error of the core, with its stable code.
    Core(Error),
    /// The named pointer argument was NULL.
    NullPointer(&'static str),
    /// The named string argument is not UTF-8.
    InvalidUtf8(&'static str),
    /// The handle is closed or unknown.
    InvalidHandle,
    /// A panic was caught; its message.
    Panic(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Core(e)
    }
}

impl Failure {
    fn status(&self) -> VersionerStatus {
        match self {
            Failure::Core(e) => VersionerStatus::from_code(e.code()),
            Failure::NullPointer(_) => VersionerStatus::NullPointer,
            Failure::InvalidUtf8(_) => VersionerStatus::InvalidUtf8,
            Failure::InvalidHandle => VersionerStatus::InvalidHandle,
            Failure::Panic(_) => VersionerStatus::Panic,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Core(e) => e.to_string(),
            Failure::NullPointer(name) => format!("`{name}` must not be NULL"),
            Failure::InvalidUtf8(name) => format!("`{name}` is not valid UTF-8"),
            Failure::InvalidHandle => "the handle is closed, or was never returned by \
                versioner_open, versioner_open_with or versioner_connect"
                .to_string(),
            Failure::Panic(msg) => {
                format!("Versioner panicked (a bug; please report it): {msg}")
            }
        }
    }

    /// The error body exactly as the HTTP API answers it (`detail`, `code`, `message`; a
    /// rejection nested under `detail` with the whole verdict), with the full message: in
    /// process there are no internals to hide.
    fn json(&self, status: VersionerStatus, message: &str) -> Value {
        match self {
            Failure::Core(e) => {
                let (_, mut body) = wire::error_response(e);
                if let Some(m) = body.as_object_mut()
                    && m.contains_key("message")
                {
                    m.insert("message".into(), Value::String(message.to_string()));
                }
                body
            }
            _ => {
                let code = status.name().to_str().unwrap_or("INTERNAL");
                json!({ "detail": message, "code": code, "message": message })
            }
        }
    }
}

struct LastError {
    message: CString,
    json: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn c_string(s: String) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let s = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\\0");
        CString::new(s).unwrap_or_default()
    })
}

fn set_last_error(failure: &Failure) -> VersionerStatus {
    let status = failure.status();
    let message = failure.message();
    let json = failure.json(status, &message).to_string();
    LAST_ERROR.with(|slot| {
        *slot.borrow_mut() = Some(LastError {
            message: c_string(message),
            json: c_string(json),
        });
    });
    status
}

fn clear_last_error() {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = None);
}

/// The last error's message on this thread (borrowed), or `""`.
pub(crate) fn last_error_message() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(c"".as_ptr(), |e| e.message.as_ptr())
    })
}

/// The last error's JSON body on this thread (borrowed), or NULL.
pub(crate) fn last_error_json() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(std::ptr::null(), |e| e.json.as_ptr())
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs the body of an export: clears this thread's last error, catches any panic, and turns
/// a failure into its status and last error.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), Failure>) -> VersionerStatus {
    clear_last_error();
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return VersionerStatus::Ok,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::Panic(panic_message(&*payload)),
    };
    // Recording the error allocates only; should even that panic, the process must survive.
    catch_unwind(AssertUnwindSafe(|| set_last_error(&failure))).unwrap_or(VersionerStatus::Panic)
}

/// A borrowed, checked string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, name: &'static str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { opt_str_arg(p, name) }?.ok_or(Failure::NullPointer(name))
}

/// Like [`str_arg`], but NULL means "absent".
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    p: *const c_char,
    name: &'static str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string valid for 'a.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|_| Failure::InvalidUtf8(name))
}

/// A file-system path argument; on Unix any bytes are accepted, as the OS does.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn path_arg(p: *const c_char, name: &'static str) -> Result<PathBuf, Failure> {
    if p.is_null() {
        return Err(Failure::NullPointer(name));
    }
    // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string.
    let s = unsafe { CStr::from_ptr(p) };
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(s.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        s.to_str()
            .map(PathBuf::from)
            .map_err(|_| Failure::InvalidUtf8(name))
    }
}

/// Parses a JSON text argument into a JSON value: a syntax error is INVALID_INPUT naming the
/// argument.
pub(crate) fn parse_json(text: &str, name: &'static str) -> Result<Value, Failure> {
    versioner_core::wire::json::parse(text.as_bytes()).map_err(|e| e.into_error(name).into())
}

/// A JSON object argument deserialized into a request type.
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn json_arg<T: DeserializeOwned>(
    p: *const c_char,
    name: &'static str,
) -> Result<T, Failure> {
    // SAFETY: forwarded to the caller.
    let text = unsafe { str_arg(p, name) }?;
    let value = parse_json(text, name)?;
    if !value.is_object() {
        return Err(Error::invalid(name, "must be a JSON object").into());
    }
    serde_json::from_value(value).map_err(|e| Error::invalid(name, e.to_string()).into())
}

/// A checked out-parameter (`T **`), set to NULL as soon as it is checked, so that the caller
/// always finds NULL or a result in it.
pub(crate) struct Out<T>(*mut *mut T);

impl<T> Out<T> {
    /// Checks `out` and stores NULL in it.
    ///
    /// # Safety
    /// `out` is NULL or valid for writing one pointer for the rest of the call.
    pub(crate) unsafe fn new(out: *mut *mut T, name: &'static str) -> Result<Out<T>, Failure> {
        if out.is_null() {
            return Err(Failure::NullPointer(name));
        }
        // SAFETY: non-NULL and, by the caller's guarantee, writable.
        unsafe { out.write(std::ptr::null_mut()) };
        Ok(Out(out))
    }

    /// Hands `value` to the caller.
    pub(crate) fn put(&self, value: *mut T) {
        // SAFETY: checked in `new`; the caller's pointer outlives the call.
        unsafe { self.0.write(value) };
    }
}

impl Out<c_char> {
    /// Hands `s` to the caller (who frees it with `versioner_string_free`).
    pub(crate) fn set(&self, s: String) {
        self.put(c_string(s).into_raw());
    }

    /// Hands the JSON text of `v` to the caller.
    pub(crate) fn set_json(&self, v: &impl Serialize) -> Result<(), Failure> {
        let text = serde_json::to_string(v)
            .map_err(|e| Error::internal(format!("cannot serialize the result: {e}")))?;
        self.set(text);
        Ok(())
    }
}

/// A checked scalar out-parameter (`T *`, such as `int64_t *`), set to `T::default()` (0) as
/// soon as it is checked, so that the caller finds 0 or the result in it.
pub(crate) struct OutValue<T>(*mut T);

impl<T: Default> OutValue<T> {
    /// Checks `out` and stores the default in it.
    ///
    /// # Safety
    /// `out` is NULL or valid for writing one `T` for the rest of the call.
    pub(crate) unsafe fn new(out: *mut T, name: &'static str) -> Result<OutValue<T>, Failure> {
        if out.is_null() {
            return Err(Failure::NullPointer(name));
        }
        // SAFETY: non-NULL and, by the caller's guarantee, writable.
        unsafe { out.write(T::default()) };
        Ok(OutValue(out))
    }

    /// Hands `value` to the caller.
    pub(crate) fn set(&self, value: T) {
        // SAFETY: checked in `new`; the caller's pointer outlives the call.
        unsafe { self.0.write(value) };
    }
}

/// Frees a string allocated by [`Out::set`].
///
/// # Safety
/// `s` is NULL or came from [`Out::set`] and was not freed yet.
pub(crate) unsafe fn free_string(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: by the caller's guarantee, `s` came from `CString::into_raw`.
        drop(unsafe { CString::from_raw(s) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = guard(|| panic!("boom"));
        assert_eq!(status, VersionerStatus::Panic);
        // SAFETY: the pointer is valid until the next guarded call on this thread.
        let msg = unsafe { CStr::from_ptr(last_error_message()) };
        assert!(msg.to_str().unwrap().contains("boom"));
        // SAFETY: as above.
        let body = unsafe { CStr::from_ptr(last_error_json()) };
        assert!(body.to_str().unwrap().contains("\"code\":\"PANIC\""));
    }

    #[test]
    fn success_clears_the_last_error() {
        assert_eq!(
            guard(|| Err(Failure::NullPointer("x"))),
            VersionerStatus::NullPointer
        );
        assert!(!last_error_json().is_null());
        assert_eq!(guard(|| Ok(())), VersionerStatus::Ok);
        assert!(last_error_json().is_null());
        // SAFETY: static empty string.
        assert_eq!(unsafe { CStr::from_ptr(last_error_message()) }, c"");
    }

    #[test]
    fn messages_with_nul_bytes_survive() {
        let s = c_string("a\0b".to_string());
        assert_eq!(s.to_str().unwrap(), "a\\0b");
    }
}
