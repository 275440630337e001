//! Query-string access with API-shaped 400s. axum's `Query<T>` rejects with a
//! plain-text body, so parameters are read by hand instead.

use std::collections::HashMap;

use crate::error::ApiError;

#[derive(Debug, Default)]
pub struct Query {
    map: HashMap<String, String>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = match raw {
            None | Some("") => Vec::new(),
            Some(s) => serde_urlencoded::from_str(s)
                .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?,
        };
        let mut map = HashMap::new();
        for (k, v) in pairs {
            // `category_ids[]=a&category_ids[]=b` style repeats: first one wins,
            // which is all the filters we honour need.
            map.entry(k).or_insert(v);
        }
        Ok(Self { map })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Non-empty value, or None.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|s| !s.is_empty())
    }

    /// `true`/`false` (SDK 1.x sends `1`/`0`); absent -> None; anything else -> 400.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "{name} must be true or false, got {other:?}"
            ))),
        }
    }
}
