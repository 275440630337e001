//! The one place an answer becomes text: JSON, ASCII only, never a panic.

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
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        // Runs of ASCII are copied whole: a trimmed description is ASCII but for its final
        // '…', and it must not fall back to a byte at a time.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        while let Some(off) = bytes[start..].iter().position(|b| !b.is_ascii()) {
            writer.write_all(&bytes[start..start + off])?;
            let rest = &fragment[start + off..];
            let c = rest.chars().next().unwrap_or_default();
            let mut utf16 = [0u16; 2];
            for unit in c.encode_utf16(&mut utf16) {
                writer.write_all(&escape(*unit))?;
            }
            start += off + c.len_utf8();
        }
        writer.write_all(&bytes[start..])?;
        Ok(())
    }
}

/// `\uXXXX` for one UTF-16 unit, lowercase, as `format!("\\u{unit:04x}")` writes it.
fn escape(unit: u16) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nibble = |shift: u16| HEX[usize::from((unit >> shift) & 0xf)];
    [b'\\', b'u', nibble(12), nibble(8), nibble(4), nibble(0)]
}

#[cfg(test)]
mod tests {
    use super::{from_bytes, to_json};
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

    proptest::proptest! {
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
