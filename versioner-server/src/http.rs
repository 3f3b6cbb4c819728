//! Errors and extractors: every answer, including a rejected request, has our body shape.
//!
//! [`ApiError`] maps a core [`Error`] to its HTTP status and body in one place, with
//! [`wire::error_response`]. [`JsonBody`] turns malformed JSON into a 400
//! `{"detail": "Invalid JSON in request body: …", "code": "INVALID_INPUT"}`, an oversized body
//! into a 413 of the same shape, and a wrongly typed field into a 422 naming the field.
//! [`Params`] reads query strings and names the parameter of any bad value.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use versioner_core::wire::Place;
use versioner_core::{Error, ErrorCode, wire};

use super::AppState;

/// A core error on its way to the client, with where in the request an input error was found
/// (the body unless said otherwise: [`ApiError::in_query`], [`ApiError::in_path`]).
#[derive(Debug)]
pub struct ApiError(pub Error, pub Place);

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e, Place::Body)
    }
}

impl ApiError {
    /// An error in a query parameter: a 422's `loc` is `["query", parameter]`.
    pub fn in_query(e: Error) -> ApiError {
        ApiError(e, Place::Query)
    }

    /// An error in a path parameter: a 422's `loc` is `["path", parameter]`.
    pub fn in_path(e: Error) -> ApiError {
        ApiError(e, Place::Path)
    }

    /// The error of a route whose input is its query string (a route without a body): an
    /// input error the core found is located in the query.
    pub fn queried(self) -> ApiError {
        match self.1 {
            Place::Body => ApiError(self.0, Place::Query),
            place => ApiError(self.0, place),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = wire::error_response_at(&self.0, self.1);
        if status >= 500 {
            // The body hides internals; the log keeps them.
            tracing::error!(code = %self.0.code(), error = %self.0, "request failed");
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(body)).into_response();
        if self.0.code() == ErrorCode::Unauthorized {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// A 4xx for a request that cannot be read at all (malformed JSON, oversized body):
/// `{"detail": detail, "code": "INVALID_INPUT", "message": detail}`.
pub fn unreadable(status: StatusCode, detail: String) -> Response {
    rejection(status, &detail, &detail)
}

/// The one converter of every request the framework refuses before a handler runs (body,
/// path, query, method): `status` with `{"detail": detail, "code": "INVALID_INPUT",
/// "message": message}`, never the framework's plain text.
pub fn rejection(status: StatusCode, detail: &str, message: &str) -> Response {
    let body = json!({
        "detail": detail,
        "code": ErrorCode::InvalidInput.as_str(),
        "message": message,
    });
    (status, Json(body)).into_response()
}

/// The 413 for a body over the limit.
pub fn too_large(limit: usize) -> Response {
    unreadable(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large: the limit is {limit} bytes"),
    )
}

/// A request refused before its handler ran (boxed: a response is large).
#[derive(Debug)]
pub struct Rejection(pub Box<Response>);

impl From<Response> for Rejection {
    fn from(r: Response) -> Rejection {
        Rejection(Box::new(r))
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Parses a JSON body into `T`: malformed JSON is a 400, a field of the wrong type a 422
/// naming the field.
///
/// The text is read by [`wire::json::parse_object`], the one strict reader: a duplicate key
/// and a body that is not a JSON object (an array would be read positionally into a struct)
/// are 422s naming the key.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    let value = wire::json::parse_object(bytes).map_err(|e| match e {
        wire::json::JsonError::Invalid(e) => Rejection::from(ApiError::from(e).into_response()),
        wire::json::JsonError::Malformed(m) => Rejection::from(unreadable(
            StatusCode::BAD_REQUEST,
            format!("Invalid JSON in request body: {m}"),
        )),
    })?;
    serde_path_to_error::deserialize(Value::Object(value)).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.inner().to_string();
        let field = if path == "." {
            // A missing required field is reported at the root: name it.
            reason
                .split('`')
                .nth(1)
                .map_or_else(|| "body".to_string(), str::to_string)
        } else {
            path
        };
        Rejection::from(ApiError::from(Error::invalid(field, reason)).into_response())
    })
}

/// A JSON request body, read under the server's body limit.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            Rejection::from(if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(state.body_limit())
            } else {
                unreadable(
                    StatusCode::BAD_REQUEST,
                    format!("Cannot read the request body: {}", rejection.body_text()),
                )
            })
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Path parameters, as axum's `Path` reads them (percent-decoded), with our error body: a
/// path that does not decode (`%FF`, a bad escape) is a 400 `INVALID_INPUT` in JSON like
/// every other refusal, never the framework's plain text.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|e| {
                Rejection::from(unreadable(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid path: {}", e.body_text()),
                ))
            })
    }
}

/// Query-string parameters (repeatable), parsed on demand with the parameter named on error.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| Params(pairs))
            .map_err(|e| {
                Rejection::from(unreadable(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid query string: {}", e.body_text()),
                ))
            })
    }
}

impl Params {
    /// The last non-blank value of `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    }

    /// Every non-blank value of `name`, comma-separated values split.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Every parameter as one JSON object of strings, the last non-blank value of each name
    /// (for parsers of the wire module, such as [`wire::history_query`]).
    pub fn to_object(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (k, v) in self.0.iter().filter(|(_, v)| !v.trim().is_empty()) {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        Value::Object(map)
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::in_query(Error::invalid(name, "is a required query parameter"))
        })
    }

    /// An unsigned number.
    pub fn number(&self, name: &str) -> Result<Option<u32>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    ApiError::in_query(Error::invalid(name, format!("`{v}` is not a whole number")))
                })
            })
            .transpose()
    }

    /// An RFC 3339 instant.
    pub fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.get(name)
            .map(|v| wire::instant(name, &v).map_err(ApiError::in_query))
            .transpose()
    }

    /// The parameters read by a parser of the wire module (such as [`wire::history_query`])
    /// from their JSON form ([`Params::to_object`]); its errors are located in the query.
    pub fn parse<T>(
        &self,
        parser: impl FnOnce(&Value) -> versioner_core::Result<T>,
    ) -> Result<T, ApiError> {
        parser(&self.to_object()).map_err(ApiError::in_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Req {
        #[expect(dead_code, reason = "only its presence is tested")]
        name: String,
    }

    #[test]
    fn malformed_json_is_400_and_missing_field_is_422_naming_it() {
        let r = parse_json::<Req>(b"{nope").unwrap_err();
        assert_eq!(r.0.status(), StatusCode::BAD_REQUEST);
        let r = parse_json::<Req>(b"{}").unwrap_err();
        assert_eq!(r.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let r = parse_json::<Req>(br#"{"name": [1]}"#).unwrap_err();
        assert_eq!(r.0.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
