//! Reading tool-call arguments (JSON from JS or from an LLM). Every problem becomes a
//! `PIPEDREAM_INVALID_ARGS` whose message names the field and the expected shape, so the
//! caller can repair the call.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

use serde_json::{Map, Value};

use super::error::{Error, Result};

/// The longest external user id taken (Pipedream's are the caller's own: an email, a UUID).
pub const MAX_USER_ID_CHARS: usize = 250;

pub struct Args<'a> {
    obj: &'a Map<String, Value>,
    shape: &'static str,
}

pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Each shape's fields, read once. Shapes are constants, and reading one a character at a time
/// on every call was about 3 % of an execute's runtime samples. Keyed by where the text is, so
/// a lookup hashes two words, not the text.
static KNOWN: LazyLock<RwLock<HashMap<(usize, usize), Fields>>> = LazyLock::new(Default::default);

type Fields = &'static [&'static str];

/// More shapes than the package has: past this, shapes are read on every call, not kept.
const KNOWN_MAX: usize = 256;

/// `fields` of `shape`, from `KNOWN` after the first call.
fn known_fields(shape: &'static str) -> Cow<'static, [&'static str]> {
    let key = (shape.as_ptr() as usize, shape.len());
    if let Some(known) = KNOWN
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Cow::Borrowed(known);
    }
    let mut kept = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if kept.len() >= KNOWN_MAX {
        return Cow::Owned(fields(shape));
    }
    Cow::Borrowed(
        kept.entry(key)
            .or_insert_with(|| Box::leak(fields(shape).into_boxed_slice())),
    )
}

/// The field names a shape such as `f expects { a: string, b?, c: { d } } or { e }` lists at
/// its first level (`a`, `b`, `c`, `e`); none for a shape that lists no object.
fn fields(shape: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut depth, mut start) = (0usize, None);
    for (i, c) in shape.char_indices() {
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                if depth == 1 && c == '{' {
                    start = Some(i + 1);
                }
            }
            '}' | ']' | ')' => {
                if depth == 1 {
                    start
                        .take()
                        .into_iter()
                        .for_each(|s| fields.push(&shape[s..i]));
                }
                depth = depth.saturating_sub(1);
            }
            ',' if depth == 1 => {
                start
                    .replace(i + 1)
                    .into_iter()
                    .for_each(|s| fields.push(&shape[s..i]));
            }
            _ => {}
        }
    }
    fields
        .into_iter()
        .filter_map(|item| {
            let item = item.trim_start();
            let end = item
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(item.len());
            (end > 0).then(|| &item[..end])
        })
        .collect()
}

/// A field name as written in any case and with any separators (`externalUserId`,
/// `external-user-id` → `externaluserid`).
pub(crate) fn loosely(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl<'a> Args<'a> {
    /// `shape` is the call's signature as a person would write it, quoted in every error. A
    /// field it does not list is refused: a misspelled one (`stor`, `externalUserId`) would
    /// otherwise be left out silently, and the call run as if it had not been given.
    pub fn new(v: &'a Value, shape: &'static str) -> Result<Self> {
        Self::checked(v, shape, false)
    }

    /// `new` for an object that may hold more than `shape` lists (the workflow's context, the
    /// integration plan's open `auth_config`): only a field written as one the shape lists but
    /// spelled otherwise (`external_user_id` for `externalUserId`) is refused.
    pub fn open(v: &'a Value, shape: &'static str) -> Result<Self> {
        Self::checked(v, shape, true)
    }

    fn checked(v: &'a Value, shape: &'static str, only_misspelled: bool) -> Result<Self> {
        match v.as_object() {
            Some(obj) => {
                let a = Self { obj, shape };
                a.check_fields(only_misspelled)?;
                Ok(a)
            }
            None => Err(Error::InvalidArgs(format!("{shape}; got {}", kind(v)))),
        }
    }

    fn check_fields(&self, only_misspelled: bool) -> Result<()> {
        let known = known_fields(self.shape);
        if known.is_empty() {
            return Ok(());
        }
        for name in self.obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let shown = super::error::cut(name, 60);
            match known.iter().find(|k| loosely(k) == loosely(name)) {
                Some(meant) => {
                    return Err(
                        self.fail(format!("`{shown}` is not a field: did you mean `{meant}`?"))
                    );
                }
                None if !only_misspelled => {
                    return Err(self.fail(format!(
                        "unknown field `{shown}`; the fields are {}",
                        known.join(", ")
                    )));
                }
                None => {}
            }
        }
        Ok(())
    }

    pub fn fail(&self, problem: String) -> Error {
        Error::InvalidArgs(format!("{}: {problem}", self.shape))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// A trimmed string; absent, null and blank are `None`.
    pub fn string(&self, name: &str, max_chars: usize) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.trim().chars().count() > max_chars => {
                Err(self.fail(format!("`{name}` is longer than {max_chars} characters")))
            }
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => {
                Err(self.fail(format!("`{name}` must be a string, got {}", kind(other))))
            }
        }
    }

    /// An external user's id: absent (or null) is the default user, but a given id that is
    /// blank is refused, not taken for absent: a template that came out empty must not act as
    /// another user. White space around an id is dropped.
    pub fn user_id(&self, name: &str) -> Result<Option<String>> {
        // Invisible characters too: JS's `trim()` drops a byte-order mark, so a caller that
        // checked the id with it took it for blank.
        let blank = |c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{180e}'
                )
        };
        match self.get(name) {
            Some(Value::String(s)) if s.chars().all(blank) => Err(self.fail(format!(
                "`{name}` is empty: give the Director user's id, or leave it out to use the default user (the externalUserId option)"
            ))),
            Some(Value::String(s)) => {
                let id = s.trim_matches(blank);
                if id.chars().count() > MAX_USER_ID_CHARS {
                    return Err(self.fail(format!(
                        "`{name}` is longer than {MAX_USER_ID_CHARS} characters"
                    )));
                }
                Ok(Some(id.to_owned()))
            }
            _ => self.string(name, MAX_USER_ID_CHARS),
        }
    }

    pub fn required_string(&self, name: &str, max_chars: usize, example: &str) -> Result<String> {
        self.string(name, max_chars)?.ok_or_else(|| {
            self.fail(format!(
                "`{name}` must be a non-empty string such as {example}"
            ))
        })
    }

    /// An identifier that goes into a URL path segment: app slugs (`_2chat`), `app_…` ids and
    /// component keys, public or private. Letters, digits, `_`, `-` and `.` (not `..`), first a
    /// letter, digit or `_`: nothing that could change the path (`/`, `%`, `?`, `#`, spaces,
    /// a `..` segment).
    pub fn id(&self, name: &str, example: &str) -> Result<String> {
        let id = self.required_string(name, 200, example)?;
        let mut chars = id.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !(first_ok && rest_ok) || id.contains("..") {
            let shown: String = id.chars().take(60).collect();
            return Err(self.fail(format!(
                "`{name}` {shown:?} is not a valid id: use letters, digits, '-', '_' and '.' (for example {example})"
            )));
        }
        Ok(id)
    }

    pub fn integer(&self, name: &str, min: u64, max: u64) -> Result<Option<u64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
                _ => Err(self.fail(format!(
                    "`{name}` must be a whole number from {min} to {max}, got {n}"
                ))),
            },
            Some(other) => {
                Err(self.fail(format!("`{name}` must be a number, got {}", kind(other))))
            }
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.fail(format!(
                "`{name}` must be true or false, got {}",
                kind(other)
            ))),
        }
    }

    /// A nested object, to be read with its own `Args`.
    pub fn nested(&self, name: &str) -> Result<Option<&'a Value>> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(other) => {
                Err(self.fail(format!("`{name}` must be an object, got {}", kind(other))))
            }
        }
    }

    /// A value as given, for fields that take several shapes.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.get(name)
    }

    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>> {
        match self.string(name, 64)? {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
            Some(v) => Err(self.fail(format!(
                "`{name}` must be one of {}, got {v:?}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// An object; a string holding a JSON object is accepted too, because strict tool schemas
    /// cannot declare a free-form object and send it as text.
    pub fn object(&self, name: &str) -> Result<Option<Map<String, Value>>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => Ok(Some(o)),
                _ => Err(self.fail(format!("`{name}` must be an object (or JSON text of one)"))),
            },
            Some(other) => {
                Err(self.fail(format!("`{name}` must be an object, got {}", kind(other))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lists no object: these tests read fields, not check them.
    const SHAPE: &str = "f expects its fields";

    #[test]
    fn ids_cannot_change_the_url_path() {
        for bad in [
            "../x", "a/b", "a%2f", "a?b", "a#b", "a b", "-a", "é", ".", "..", "a..b", ".a",
        ] {
            let v = json!({ "id": bad });
            let e = Args::new(&v, SHAPE)
                .unwrap()
                .id("id", "\"gmail\"")
                .unwrap_err();
            assert!(e.to_string().contains("is not a valid id"), "{bad}: {e}");
        }
        // Real ids: `_`-prefixed slugs and keys, `app_…` ids (mixed case), private keys.
        for good in [
            "gmail-send-email_2",
            "_2chat",
            "_0codekit-compress-pdf",
            "app_OkrhR1",
            "sc_v4iV2qD",
            "my-org.custom-action",
        ] {
            let v = json!({ "id": good });
            assert_eq!(Args::new(&v, SHAPE).unwrap().id("id", "").unwrap(), good);
        }
    }

    #[test]
    fn a_shapes_fields_are_read_once() {
        const SHAPE: &str = "g expects { x, y?: { z } }";
        let first = known_fields(SHAPE);
        let again = known_fields(SHAPE);
        assert_eq!(*first, ["x", "y"]);
        assert!(matches!(again, Cow::Borrowed(_)) && std::ptr::eq(first.as_ptr(), again.as_ptr()));
    }

    #[test]
    fn fields_a_shape_lists_and_no_others() {
        assert_eq!(
            fields("f expects { a: string, b?, c: { d, e }, f?: string[] } or { g: [h, …] }"),
            ["a", "b", "c", "f", "g"]
        );
        assert!(fields("f expects the id string").is_empty());
        const SHAPE: &str = "f expects { external_user_id?, store? }";
        let refused = |v: Value| Args::new(&v, SHAPE).err().map(|e| e.to_string());
        assert_eq!(
            refused(json!({ "store": 1, "external_user_id": null })),
            None
        );
        assert!(
            refused(json!({ "stor": 1 }))
                .unwrap()
                .contains("unknown field `stor`; the fields are external_user_id, store")
        );
        assert!(
            refused(json!({ "externalUserId": "bob" }))
                .unwrap()
                .contains("`externalUserId` is not a field: did you mean `external_user_id`?")
        );
        // An open object takes fields it does not list, but not one of its own misspelled.
        let open = |v: Value| Args::open(&v, SHAPE).err().map(|e| e.to_string());
        assert_eq!(open(json!({ "anything": 1 })), None);
        assert!(open(json!({ "External-User-Id": 1 })).is_some());
        // A shape without an object checks nothing.
        assert!(Args::new(&json!({ "x": 1 }), "f expects the id string").is_ok());
    }

    #[test]
    fn objects_may_arrive_as_json_text() {
        let v = json!({ "p": "{\"a\": 1}", "q": "[1]", "r": null });
        let a = Args::new(&v, SHAPE).unwrap();
        assert_eq!(a.object("p").unwrap().unwrap()["a"], 1);
        assert!(a.object("q").is_err());
        assert!(a.object("r").unwrap().is_none());
    }

    #[test]
    fn integers_and_choices() {
        let v = json!({ "n": 5, "m": 0, "t": "trigger", "u": "x" });
        let a = Args::new(&v, SHAPE).unwrap();
        assert_eq!(a.integer("n", 1, 10).unwrap(), Some(5));
        assert!(a.integer("m", 1, 10).is_err());
        assert_eq!(
            a.one_of("t", &["action", "trigger"]).unwrap().as_deref(),
            Some("trigger")
        );
        assert!(
            a.one_of("u", &["action", "trigger"])
                .unwrap_err()
                .to_string()
                .contains("must be one of")
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        /// Whatever the input, an id that passes can be put in a URL path as is.
        #[test]
        fn accepted_ids_are_path_safe(id in "\\PC{0,40}") {
            let v = json!({ "id": id });
            if let Ok(ok) = Args::new(&v, "f").unwrap().id("id", "x") {
                prop_assert!(ok.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
                prop_assert!(!ok.starts_with('-') && !ok.starts_with('.'));
                prop_assert!(!ok.contains(".."));
            }
        }

        #[test]
        fn well_formed_ids_are_accepted(id in "[A-Za-z0-9_][A-Za-z0-9_-]{0,60}") {
            let v = json!({ "id": id.clone() });
            prop_assert_eq!(Args::new(&v, "f").unwrap().id("id", "x").unwrap(), id);
        }
    }
}
