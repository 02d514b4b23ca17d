//! Block filters, evaluated on a block's bytes without allocating.

use crate::error::{Error, FieldName};
use crate::json;
use crate::limits::NEEDLE_BYTES_MAX;

/// A value a top-level metadata member must equal.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum MetadataValue<'a> {
    /// A JSON string whose decoded text is exactly these bytes (escapes are decoded).
    String(&'a [u8]),
    /// A JSON number equal to this one (`1`, `1.0` and `1e0` all equal 1.0).
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// Conditions a block must meet; `None` fields accept every block. All set fields must hold.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct BlockFilter<'a> {
    /// The block's `source_uri` starts with these bytes.
    pub source_uri_prefix: Option<&'a [u8]>,
    /// The block's metadata has a top-level member with this key and value.
    pub metadata_equals: Option<(&'a [u8], MetadataValue<'a>)>,
    /// The block's content contains these bytes (an empty needle matches every block).
    pub content_contains: Option<&'a [u8]>,
}

impl BlockFilter<'_> {
    /// Accepts every block.
    pub const ALL: BlockFilter<'static> =
        BlockFilter { source_uri_prefix: None, metadata_equals: None, content_contains: None };

    /// `QueryInvalid` for a needle over `NEEDLE_BYTES_MAX` or a NaN number.
    pub fn validate(&self) -> Result<(), Error> {
        if self.content_contains.is_some_and(|needle| needle.len() > NEEDLE_BYTES_MAX) {
            return Err(Error::QueryInvalid { field: FieldName::new(&"content_contains") });
        }
        if let Some((_, MetadataValue::Number(number))) = self.metadata_equals {
            if number.is_nan() {
                return Err(Error::QueryInvalid { field: FieldName::new(&"metadata_equals") });
            }
        }
        Ok(())
    }

    /// True if a block with these fields passes the filter.
    pub fn matches(&self, source_uri: &[u8], metadata_json: &[u8], content: &[u8]) -> bool {
        if let Some(prefix) = self.source_uri_prefix {
            if !source_uri.starts_with(prefix) {
                return false;
            }
        }
        if let Some((key, value)) = self.metadata_equals {
            let Some(raw) = json::member_value(metadata_json, key) else {
                return false;
            };
            if !value_equals(raw, &value) {
                return false;
            }
        }
        match self.content_contains {
            Some(needle) => contains(content, needle),
            None => true,
        }
    }
}

fn value_equals(raw: &[u8], value: &MetadataValue<'_>) -> bool {
    match value {
        MetadataValue::String(text) => json::string_equals(raw, text),
        MetadataValue::Bool(true) => raw == b"true",
        MetadataValue::Bool(false) => raw == b"false",
        MetadataValue::Number(number) => number_equals(raw, *number),
    }
}

/// Whether `raw` is a number that parses to `number`. JSON's number grammar is a subset of
/// what `f64::from_str` accepts, and `raw` was validated as a number, so only a string or
/// literal fails to parse here.
#[cfg(not(feature = "small-code"))]
fn number_equals(raw: &[u8], number: f64) -> bool {
    let parsed = core::str::from_utf8(raw).ok().and_then(|text| text.parse::<f64>().ok());
    parsed == Some(number)
}

/// `small-code`: the same answer from the digits, without the float parser (17 KiB).
#[cfg(feature = "small-code")]
fn number_equals(raw: &[u8], number: f64) -> bool {
    super::number::denotes(raw, number)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    if needle.len() > haystack.len() {
        return false;
    }
    let last_start = haystack.len() - needle.len();
    // Scan for the first byte, then compare the rest: fast for the short needles users type.
    haystack[..=last_start]
        .iter()
        .enumerate()
        .any(|(at, &byte)| byte == first && haystack[at..at + needle.len()] == *needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_members_match_by_decoded_value() {
        let metadata = br#"{"kind":"function","line":12,"exported":true,"n\u0061me":"caf\u00e9",
            "nested":{"kind":"class"},"list":[1,{"kind":"x"}]}"#;
        let filter = |key: &'static [u8], value| BlockFilter {
            metadata_equals: Some((key, value)),
            ..BlockFilter::ALL
        };
        let accepts = |f: BlockFilter<'_>| f.matches(b"", metadata, b"");
        assert!(accepts(filter(b"kind", MetadataValue::String(b"function"))));
        assert!(!accepts(filter(b"kind", MetadataValue::String(b"class"))));
        assert!(!accepts(filter(b"kind", MetadataValue::String(b"functio"))));
        assert!(accepts(filter(b"line", MetadataValue::Number(12.0))));
        assert!(!accepts(filter(b"line", MetadataValue::Number(13.0))));
        assert!(!accepts(filter(b"kind", MetadataValue::Number(12.0))));
        assert!(accepts(filter(b"exported", MetadataValue::Bool(true))));
        assert!(!accepts(filter(b"exported", MetadataValue::Bool(false))));
        assert!(accepts(filter(b"name", MetadataValue::String("café".as_bytes()))));
        assert!(!accepts(filter(b"missing", MetadataValue::Bool(true))));
        // Only top-level members count.
        assert!(!accepts(filter(b"kind", MetadataValue::String(b"class"))));
        assert!(!accepts(filter(b"kind", MetadataValue::String(b"x"))));
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode() {
        assert!(json::string_equals(br#""a\"b\\c\/\n""#, b"a\"b\\c/\n"));
        assert!(json::string_equals(br#""\ud83d\ude00""#, "😀".as_bytes()));
        assert!(!json::string_equals(br#""\ud83d""#, b"?"));
        assert!(!json::string_equals(br#""abc""#, b"ab"));
        assert!(!json::string_equals(br#""ab""#, b"abc"));
        assert!(json::string_equals(br#""""#, b""));
    }

    #[test]
    fn source_prefix_and_content_needle_combine() {
        let filter = BlockFilter {
            source_uri_prefix: Some(b"src/core/"),
            content_contains: Some(b"fn parse"),
            ..BlockFilter::ALL
        };
        assert!(filter.matches(b"src/core/a.rs", b"{}", b"pub fn parse(x)"));
        assert!(!filter.matches(b"src/cli/a.rs", b"{}", b"pub fn parse(x)"));
        assert!(!filter.matches(b"src/core/a.rs", b"{}", b"pub fn pars"));
        assert!(BlockFilter::ALL.matches(b"", b"{}", b""));
        assert!(contains(b"abc", b""));
        assert!(contains(b"abc", b"abc"));
        assert!(!contains(b"ab", b"abc"));
    }

    #[test]
    fn malformed_metadata_never_matches_and_never_panics() {
        let filter = BlockFilter {
            metadata_equals: Some((b"k", MetadataValue::Bool(true))),
            ..BlockFilter::ALL
        };
        for bad in [&b""[..], b"{", b"{\"k\"", b"{\"k\":", b"{\"k\":tru", b"[1]", b"{\"k\":true"] {
            let _ = filter.matches(b"", bad, b"");
        }
        assert!(!filter.matches(b"", b"{\"k\":", b""));
    }
}
