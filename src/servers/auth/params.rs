//! Request parameters of the OAuth endpoints (query strings and form bodies), parsed strictly.
//!
//! RFC 6749 §3.1: a parameter sent without a value is treated as omitted, and no parameter may
//! appear twice. Counts and lengths are bounded so a hostile request cannot grow memory.

use std::collections::HashMap;

/// The most parameters one request may carry.
const MAX_PARAMS: usize = 64;
/// The longest value accepted for any parameter.
const MAX_VALUE_CHARS: usize = 4096;

/// Why parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A parameter appeared more than once.
    #[error("the parameter `{0}` appears more than once")]
    Repeated(String),
    /// A required parameter is missing.
    #[error("the parameter `{0}` is required")]
    Missing(&'static str),
    /// Too many parameters, or a value too long.
    #[error("the request parameters are too large")]
    TooLarge,
}

/// Parsed parameters.
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text (a query string or a form body).
    ///
    /// # Errors
    /// Fails on a repeated parameter, more than 64 parameters or a value over 4096 characters.
    pub fn parse(raw: &[u8]) -> Result<Self, ParamError> {
        let mut map = HashMap::new();
        for (key, value) in url::form_urlencoded::parse(raw) {
            if map.len() >= MAX_PARAMS || value.chars().count() > MAX_VALUE_CHARS {
                return Err(ParamError::TooLarge);
            }
            if value.is_empty() {
                continue;
            }
            if map.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(ParamError::Repeated(key.into_owned()));
            }
        }
        Ok(Self(map))
    }

    /// The value of `key`, if given with a value.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The value of `key`.
    ///
    /// # Errors
    /// Fails when it is missing.
    pub fn required(&self, key: &'static str) -> Result<&str, ParamError> {
        self.get(key).ok_or(ParamError::Missing(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_omitted_and_repeats_refused() {
        let p = Params::parse(b"a=1&b=&c=x%20y").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y"));
        assert_eq!(p.required("b"), Err(ParamError::Missing("b")));
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            ParamError::Repeated("a".into())
        );
        let long = format!("a={}", "x".repeat(5000));
        assert_eq!(
            Params::parse(long.as_bytes()).unwrap_err(),
            ParamError::TooLarge
        );
    }
}
