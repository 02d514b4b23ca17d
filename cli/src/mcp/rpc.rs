//! JSON-RPC 2.0 as MCP's stdio transport carries it: one message per line, UTF-8, no
//! batches. Reading is bounded (a line longer than `MESSAGE_BYTES_MAX` is skipped whole and
//! answered with an error, never buffered), and every way a line can be wrong has its own
//! answer.

use serde_json::{json, Value};
use std::io::{self, BufRead, Write};

/// Invalid JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON, but not a JSON-RPC 2.0 request or notification (or too long).
pub const INVALID_REQUEST: i64 = -32600;
/// A method the server does not have.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Parameters of the wrong shape, or an unknown tool.
pub const INVALID_PARAMS: i64 = -32602;
/// The server failed (the store refused, a file could not be read).
pub const INTERNAL_ERROR: i64 = -32603;
/// A request names a protocol version the server does not speak (2026-07-28).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// Longest message read, in bytes: far above any real request (a tool call is a few
/// hundred bytes), and a bound on what a broken or hostile client can make the server hold.
pub const MESSAGE_BYTES_MAX: usize = 4 << 20;

/// One line of input.
#[derive(Debug, PartialEq)]
pub enum Line {
    Message(Vec<u8>),
    /// Longer than the bound: skipped to its end.
    TooLong,
    /// The client closed its end.
    End,
}

/// Reads one line of at most `bytes_max` bytes (its newline not counted).
pub fn read_line(reader: &mut impl BufRead, bytes_max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            // The end of input: a last line without its newline still counts.
            return Ok(match (too_long, line.is_empty()) {
                (true, _) => Line::TooLong,
                (false, true) => Line::End,
                (false, false) => Line::Message(line),
            });
        }
        let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at)),
            None => (available, None),
        };
        if !too_long && line.len() + chunk.len() <= bytes_max {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line = Vec::new();
        }
        let used = found.map_or(available.len(), |at| at + 1);
        reader.consume(used);
        if found.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Message(line) });
        }
    }
}

/// What a message is.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A response to a request of ours (the server sends none): ignored.
    Response,
}

/// An error answer: its code and message, and the request id when it could be read.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub id: Value,
    pub code: i64,
    pub message: String,
}

/// Reads a message's shape. A blank line is nothing (`Ok(None)`).
pub fn classify(bytes: &[u8]) -> Result<Option<Incoming>, Refusal> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let refuse = |id: Value, code, message: &str| Refusal { id, code, message: message.into() };
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| refuse(Value::Null, PARSE_ERROR, &format!("not JSON: {error}")))?;
    let Value::Object(mut object) = value else {
        let message = "a message is one JSON object (batches are not part of MCP)";
        return Err(refuse(Value::Null, INVALID_REQUEST, message));
    };
    let id = object.remove("id");
    let valid_id = match &id {
        None => true,
        Some(Value::String(_)) => true,
        Some(Value::Number(number)) => number.is_i64() || number.is_u64(),
        Some(_) => false,
    };
    if !valid_id {
        return Err(refuse(Value::Null, INVALID_REQUEST, "id must be a string or an integer"));
    }
    let id_or_null = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(refuse(id_or_null, INVALID_REQUEST, "jsonrpc must be \"2.0\""));
    }
    if object.contains_key("result") || object.contains_key("error") {
        return Ok(Some(Incoming::Response));
    }
    let Some(Value::String(method)) = object.remove("method") else {
        return Err(refuse(id_or_null, INVALID_REQUEST, "method must be a string"));
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    if !matches!(params, Value::Object(_) | Value::Null) {
        return Err(refuse(id_or_null, INVALID_REQUEST, "params must be an object"));
    }
    Ok(Some(match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    }))
}

/// A success answer.
pub fn result(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// An error answer, with `data` when there is more to say.
pub fn error(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(data) = data {
        error["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// A notification of ours.
pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// Writes one message as one line and flushes it.
pub fn write(out: &mut impl Write, message: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, message)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_whole_and_an_overlong_one_is_skipped_to_its_end() {
        let input = b"{\"a\":1}\n0123456789\n{}\nlast";
        let mut reader = io::BufReader::with_capacity(4, &input[..]);
        assert_eq!(read_line(&mut reader, 8).unwrap(), Line::Message(b"{\"a\":1}".to_vec()));
        assert_eq!(read_line(&mut reader, 8).unwrap(), Line::TooLong);
        assert_eq!(read_line(&mut reader, 8).unwrap(), Line::Message(b"{}".to_vec()));
        assert_eq!(read_line(&mut reader, 8).unwrap(), Line::Message(b"last".to_vec()));
        assert_eq!(read_line(&mut reader, 8).unwrap(), Line::End);
    }

    #[test]
    fn every_wrong_message_has_its_error_and_the_id_when_it_could_be_read() {
        let code = |text: &str| classify(text.as_bytes()).err().map(|r| (r.code, r.id));
        assert_eq!(code("{"), Some((PARSE_ERROR, Value::Null)));
        assert_eq!(code("[1]"), Some((INVALID_REQUEST, Value::Null)));
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
            Some((INVALID_REQUEST, Value::Null))
        );
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#),
            Some((INVALID_REQUEST, json!(7)))
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":"a","method":3}"#),
            Some((INVALID_REQUEST, json!("a")))
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
            Some((INVALID_REQUEST, json!(1)))
        );
        assert_eq!(classify(b"  ").unwrap(), None);
        let request = classify(br#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#).unwrap();
        assert_eq!(
            request,
            Some(Incoming::Request { id: json!(2), method: "ping".into(), params: Value::Null })
        );
        let notification = classify(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(notification, Ok(Some(Incoming::Notification { .. }))));
        let response = classify(br#"{"jsonrpc":"2.0","id":5,"result":{}}"#);
        assert_eq!(response.unwrap(), Some(Incoming::Response));
    }
}
