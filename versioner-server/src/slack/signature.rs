//! Slack's request signature (version `v0`): `X-Slack-Signature: v0=<hex HMAC-SHA256(signing
//! secret, "v0:" + X-Slack-Request-Timestamp + ":" + raw body)>`, with the timestamp within
//! five minutes of now, so a captured request cannot be replayed later.
//!
//! ```
//! use versioner_server::slack::signature::{sign, verify};
//! let sig = sign("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, b"token=x&text=status");
//! assert!(verify("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", b"token=x&text=status", &sig, 1_531_420_618).is_ok());
//! ```

use hmac::{Hmac, KeyInit, Mac};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The header carrying the request's Unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// How far (either way) a request's timestamp may be from now, in seconds: five minutes, as
/// Slack recommends.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Slack-Request-Timestamp`, or not a whole number.
    BadTimestamp,
    /// The timestamp is more than [`MAX_SKEW_SECONDS`] from now.
    Stale,
    /// No `X-Slack-Signature`, not `v0=<hex>`, or not the body's signature.
    BadSignature,
}

impl Refusal {
    /// What the refusal says (never the expected signature).
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BadTimestamp => {
                "Invalid Slack request: X-Slack-Request-Timestamp is missing or not a number"
            }
            Refusal::Stale => {
                "Invalid Slack request: X-Slack-Request-Timestamp is more than 5 minutes from now"
            }
            Refusal::BadSignature => "Invalid Slack request: X-Slack-Signature does not match",
        }
    }
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<sha2::Sha256>> {
    // HMAC accepts keys of any length, so `new_from_slice` does not fail.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

/// The `X-Slack-Signature` value of `body` sent at `timestamp` (what Slack computes; for
/// tests and tools that play Slack).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    mac(secret, &timestamp.to_string(), body)
        .map(|m| format!("v0={}", hex::encode(m.finalize().into_bytes())))
        .unwrap_or_default()
}

/// Checks a request: its timestamp header `timestamp` is within [`MAX_SKEW_SECONDS`] of
/// `now` (Unix seconds), and `signature` is `body`'s signature under `secret`, compared in
/// constant time.
///
/// # Errors
/// The [`Refusal`].
pub fn verify(
    secret: &str,
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: i64,
) -> Result<(), Refusal> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| Refusal::BadTimestamp)?;
    if (now - ts).abs() > MAX_SKEW_SECONDS {
        return Err(Refusal::Stale);
    }
    let given = signature
        .trim()
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(Refusal::BadSignature)?;
    match mac(secret, timestamp.trim(), body).map(|m| m.verify_slice(&given)) {
        Some(Ok(())) => Ok(()),
        _ => Err(Refusal::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's documented example (api.slack.com, "Verifying requests from Slack").
    #[test]
    fn slacks_documented_example() {
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, 1_531_420_618, body), expected);
        assert_eq!(
            verify(secret, "1531420618", body, expected, 1_531_420_618),
            Ok(())
        );
    }

    #[test]
    fn refusals() {
        let s = sign("k", 1000, b"a=b");
        assert_eq!(verify("k", "1000", b"a=b", &s, 1000 + 300), Ok(()));
        assert_eq!(
            verify("k", "1000", b"a=b", &s, 1000 + 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify("k", "1000", b"a=b", &s, 1000 - 301),
            Err(Refusal::Stale)
        );
        assert_eq!(
            verify("k", "x", b"a=b", &s, 1000),
            Err(Refusal::BadTimestamp)
        );
        assert_eq!(
            verify("k", "1000", b"a=c", &s, 1000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify("other", "1000", b"a=b", &s, 1000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify("k", "1000", b"a=b", "v0=zz", 1000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            verify("k", "1000", b"a=b", &s.replace("v0=", "v1="), 1000),
            Err(Refusal::BadSignature)
        );
        // The signature covers the timestamp: a replay with a fresh timestamp fails.
        assert_eq!(
            verify("k", "1001", b"a=b", &s, 1001),
            Err(Refusal::BadSignature)
        );
    }
}
