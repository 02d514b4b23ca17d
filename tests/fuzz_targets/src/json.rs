//! The metadata validator and member lookup on arbitrary bytes, against serde_json: what
//! the validator accepts must be one JSON object to serde_json too, and a member found by
//! `member_value` must be that object's value for the key.
use kausaldb_core::json::{member_value, validate_object, JSON_DEPTH_MAX};

/// One input: panics on a finding.
pub fn run(bytes: &[u8]) {
    let accepted = validate_object(bytes).is_ok();
    let parsed = serde_json::from_slice::<serde_json::Value>(bytes);
    if accepted {
        let Ok(serde_json::Value::Object(object)) = &parsed else {
            panic!("accepted what serde_json refuses as an object: {parsed:?}");
        };
        for (key, value) in object {
            let Some(raw) = member_value(bytes, key.as_bytes()) else {
                panic!("member {key:?} not found");
            };
            let found: serde_json::Value = serde_json::from_slice(raw).expect("a JSON value");
            // serde_json keeps the last of duplicate keys, member_value the first: compare
            // only where no key can repeat, not even spelled with escapes.
            let quoted = format!("\"{key}\"");
            let spelled = bytes.windows(quoted.len()).filter(|w| *w == quoted.as_bytes()).count();
            if spelled == 1 && !bytes.contains(&b'\\') {
                assert_eq!(&found, value, "member {key:?}");
            }
        }
    } else if let Ok(serde_json::Value::Object(_)) = parsed {
        // Refusing a valid object is allowed only past the depth limit.
        assert!(depth(bytes) > JSON_DEPTH_MAX as usize, "refused a valid object");
    }
}

/// The deepest bracket nesting outside strings.
fn depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &byte in bytes {
        match (in_string, escaped, byte) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}
