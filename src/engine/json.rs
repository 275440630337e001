//! The one place an answer becomes text: JSON, ASCII only (`readable` for an LLM), never a panic.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Our result types always serialize; the fallback only guards against a future type that
/// could not, so a bug becomes a coded error instead of a panic. The text is ASCII (see
/// `AsciiJson`).
pub fn to_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiJson);
    match value.serialize(&mut ser) {
        // Only ASCII was written, so the bytes are UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(e) => serde_json::json!({
            "error": "PIPEDREAM_BAD_RESPONSE",
            "message": format!("internal serialization error: {e}"),
        })
        .to_string(),
    }
}

/// Parses JSON from bytes, checking them as UTF-8 in one pass first. Read from bytes, serde_json
/// checks each string as it meets it, and a component list's thousands of short strings made
/// that about a tenth of its parse. Text that is not UTF-8 is read from the bytes, for the
/// error that says where.
pub fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// An answer's text as an LLM reads it: the characters beyond ASCII that `to_json` escaped
/// written as themselves (UTF-8), as `JSON.stringify` writes them. `\u2026` is six characters
/// and several tokens where `…` is one. Other escapes stay as they are: those of control
/// characters, and a lone surrogate of the API's own text (JSON, but no Unicode). Borrowed when
/// nothing is escaped.
pub fn readable(json: &str) -> Cow<'_, str> {
    if !json.contains("\\u") {
        return Cow::Borrowed(json);
    }
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let mut copied = 0;
    let mut at = 0;
    // From the start, `at` is always a backslash that starts an escape: each escape is stepped
    // over whole, so the `u` of an escaped backslash followed by a `u` is never read as an
    // escape's. Text cut short ends the search (`get`), never a panic.
    while let Some(found) = json.get(at..).and_then(|rest| rest.find('\\')) {
        at += found;
        if bytes.get(at + 1) != Some(&b'u') {
            at += 2;
            continue;
        }
        let unit = |i: usize| {
            let hex = json.get(i + 2..i + 6)?;
            (bytes.get(i + 1) == Some(&b'u'))
                .then(|| u16::from_str_radix(hex, 16).ok())
                .flatten()
        };
        let (c, len) = match unit(at) {
            Some(high @ 0xd800..=0xdbff) => match unit(at + 6) {
                Some(low @ 0xdc00..=0xdfff) => {
                    let code =
                        0x10000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                    (char::from_u32(code), 12)
                }
                _ => (None, 6),
            },
            Some(unit) if unit >= 0x80 => (char::from_u32(u32::from(unit)), 6),
            _ => (None, 6),
        };
        if let Some(c) = c {
            out.push_str(&json[copied..at]);
            out.push(c);
            copied = at + len;
        }
        at += len;
    }
    if copied == 0 {
        return Cow::Borrowed(json);
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

/// Writes characters beyond ASCII as `\uXXXX` escapes. JS can then take the text as a
/// one-byte (Latin-1) string, a plain copy, where UTF-8 text is decoded into a two-byte string
/// that `JSON.parse` also reads more slowly.
struct AsciiJson;

impl serde_json::ser::Formatter for AsciiJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_ascii(writer, fragment)
    }

    /// JSON kept as the API wrote it (a `RawValue`). Outside its strings JSON is ASCII, so
    /// escaping every character beyond ASCII leaves the same JSON.
    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        write_ascii(writer, fragment)
    }
}

/// `text` with each character beyond ASCII written as its `\uXXXX` escapes.
fn write_ascii<W: ?Sized + std::io::Write>(writer: &mut W, text: &str) -> std::io::Result<()> {
    if text.is_ascii() {
        return writer.write_all(text.as_bytes());
    }
    // Runs of ASCII are copied whole: a trimmed description is ASCII but for its final '…',
    // and it must not fall back to a byte at a time.
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(off) = bytes[start..].iter().position(|b| !b.is_ascii()) {
        writer.write_all(&bytes[start..start + off])?;
        let rest = &text[start + off..];
        let c = rest.chars().next().unwrap_or_default();
        let mut utf16 = [0u16; 2];
        for unit in c.encode_utf16(&mut utf16) {
            writer.write_all(&escape(*unit))?;
        }
        start += off + c.len_utf8();
    }
    writer.write_all(&bytes[start..])
}

/// `\uXXXX` for one UTF-16 unit, lowercase, as `format!("\\u{unit:04x}")` writes it.
fn escape(unit: u16) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nibble = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    [b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)]
}

#[cfg(test)]
mod tests {
    use super::{from_bytes, readable, to_json};
    use serde_json::{Value, json};

    #[test]
    fn bytes_parse_as_from_slice_does() {
        let text = r#"{"a":["é","\u00e9",1.5,null],"b":{"c":"\ud83d\ude00 😀"}}"#;
        let ours: Value = from_bytes(text.as_bytes()).unwrap();
        assert_eq!(
            ours,
            serde_json::from_slice::<Value>(text.as_bytes()).unwrap()
        );
        // Not UTF-8 (a Latin-1 é inside a string): the same error as reading the bytes gives.
        let latin1 = b"{\"a\": \"caf\xe9\"}";
        let err = from_bytes::<Value>(latin1).unwrap_err().to_string();
        assert_eq!(
            err,
            serde_json::from_slice::<Value>(latin1)
                .unwrap_err()
                .to_string()
        );
        assert!(err.contains("line 1"), "{err}");
        assert!(from_bytes::<Value>(b"{\"a\": 1").is_err());
    }

    #[test]
    fn json_text_is_ascii_and_reads_back_the_same() {
        let value = json!({ "name": "Zoë — 日本 😀", "plain": "a\"b\\c\n", "n": 1 });
        let text = to_json(&value);
        assert!(text.is_ascii(), "{text}");
        assert!(
            text.contains("\\u00eb") && text.contains("\\ud83d\\ude00"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn json_kept_as_written_is_ascii_too() {
        let raw = serde_json::value::RawValue::from_string(
            r#"{"b": "Zoë — 😀", "a": [1.50, "\/"]}"#.to_owned(),
        )
        .unwrap();
        #[derive(serde::Serialize)]
        struct Kept<'a> {
            kept: &'a serde_json::value::RawValue,
        }
        let text = to_json(&Kept { kept: &raw });
        assert!(text.is_ascii(), "{text}");
        // As written (its order, spaces and escapes), but for the escaped characters.
        assert!(
            text.contains(r#"{"b": "Zo\u00eb \u2014 \ud83d\ude00", "a": [1.50, "\/"]}"#),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap()["kept"],
            serde_json::from_str::<Value>(raw.get()).unwrap()
        );
    }

    #[test]
    fn readable_text_writes_escaped_characters_as_themselves() {
        let value = json!({ "name": "Zoë — 日本 😀…", "plain": "a\"b\\c\n\u{1}", "n": 1.5 });
        assert_eq!(
            readable(&to_json(&value)),
            serde_json::to_string(&value).unwrap()
        );
        // An escaped backslash before a `u` is no escape of a character.
        let tricky = json!(["\\u00e9", "\\\\u2026", "\\é"]);
        assert_eq!(
            readable(&to_json(&tricky)),
            serde_json::to_string(&tricky).unwrap()
        );
        // The API's own text, embedded as received: a lone surrogate and short escapes stay.
        let raw = r#"["\ud800x","\udc00","\u0041","\ud83d\u0041","\u00e9\/"]"#;
        assert_eq!(
            readable(raw),
            r#"["\ud800x","\udc00","\u0041","\ud83d\u0041","é\/"]"#
        );
        for cut_short in [r#""\u"#, r#""\u00"#, r#""\ud83d\u"#, r#""\uzzzz""#] {
            assert_eq!(
                readable(cut_short),
                cut_short,
                "an escape cut short is left"
            );
        }
        assert!(matches!(
            readable(r#"{"a":"b\n"}"#),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    proptest::proptest! {
        /// An answer's readable text is serde_json's own, whatever its strings hold.
        #[test]
        fn readable_text_is_the_plain_json(text in "(\\PC|[\"\\\\\n\u{7f}é…😀u]){0,40}") {
            let value = json!({ "t": text, "l": [text.clone(), 1] });
            let json = to_json(&value);
            proptest::prop_assert_eq!(readable(&json), serde_json::to_string(&value).unwrap());
        }

        /// Any text at all, escapes cut short and broken included, is read without a panic.
        #[test]
        fn readable_reads_any_text(text in "([\\\\u0-9a-fdD]|\\PC){0,40}") {
            let _ = readable(&text);
        }

        /// Any text, escapes and non-ASCII runs included, reads back as itself from ASCII.
        #[test]
        fn any_text_reads_back_the_same(text in "(\\PC|[\"\\\n\u{7f}é…😀]){0,40}") {
            let json = to_json(&text);
            proptest::prop_assert!(json.is_ascii(), "{}", json);
            proptest::prop_assert_eq!(serde_json::from_str::<String>(&json).unwrap(), text);
        }

        /// Any finite number reads back as itself from its shortest text, as JS writes it:
        /// arguments handed over as JSON text (`executeBatch`'s items) must reach the API with
        /// the numbers the caller gave, as the walk of JS values sends them (`float_roundtrip`).
        #[test]
        fn any_number_reads_back_the_same(bits in proptest::num::u64::ANY) {
            let n = f64::from_bits(bits);
            proptest::prop_assume!(n.is_finite());
            let text = to_json(&n);
            proptest::prop_assert_eq!(serde_json::from_str::<f64>(&text).unwrap().to_bits(), n.to_bits(), "{}", text);
        }
    }
}
