//! Validation of block metadata: exactly one JSON object (RFC 8259), checked in one pass
//! without allocating and without recursion, so a hostile input cannot exhaust the stack.

/// Deepest nesting of objects and arrays accepted in metadata.
pub const JSON_DEPTH_MAX: u32 = 64;

/// Open containers, one bit each (1 = object, 0 = array); `JSON_DEPTH_MAX` fits in a u64.
struct ContainerStack {
    bits: u64,
    depth: u32,
}

const _: () = assert!(JSON_DEPTH_MAX <= u64::BITS);

#[derive(Clone, Copy)]
enum State {
    /// Just after `{`: a key or `}`.
    ObjectOpened,
    /// Just after `[`: a value or `]`.
    ArrayOpened,
    /// A value is expected.
    Value,
    /// A value ended: `,`, a closing bracket, or the end of input.
    AfterValue,
}

/// Checks that `bytes` is one JSON object with optional surrounding white space. On failure
/// returns the offset of the first byte that cannot be accepted.
pub fn validate_object(bytes: &[u8]) -> Result<(), usize> {
    if let Err(error) = core::str::from_utf8(bytes) {
        return Err(error.valid_up_to());
    }
    let mut cursor = Cursor { bytes, position: 0 };
    cursor.skip_white_space();
    if cursor.peek() != Some(b'{') {
        return Err(cursor.position);
    }
    let mut stack = ContainerStack { bits: 0, depth: 0 };
    let mut state = State::Value;
    // Every iteration consumes at least one byte or ends, so the loop is bounded by the length.
    loop {
        cursor.skip_white_space();
        let at = cursor.position;
        state = match state {
            State::Value => cursor.value(&mut stack)?,
            State::ObjectOpened if cursor.peek() == Some(b'}') => {
                cursor.position += 1;
                stack.pop();
                State::AfterValue
            }
            State::ObjectOpened => cursor.member_key()?,
            State::ArrayOpened if cursor.peek() == Some(b']') => {
                cursor.position += 1;
                stack.pop();
                State::AfterValue
            }
            State::ArrayOpened => State::Value,
            State::AfterValue if stack.depth == 0 => {
                return if at == bytes.len() { Ok(()) } else { Err(at) };
            }
            State::AfterValue => cursor.after_value(&mut stack)?,
        };
        debug_assert!(cursor.position >= at);
    }
}

impl ContainerStack {
    fn push(&mut self, is_object: bool, at: usize) -> Result<(), usize> {
        if self.depth >= JSON_DEPTH_MAX {
            return Err(at);
        }
        self.bits = (self.bits << 1) | u64::from(is_object);
        self.depth += 1;
        Ok(())
    }

    fn pop(&mut self) {
        debug_assert!(self.depth > 0);
        self.bits >>= 1;
        self.depth -= 1;
    }

    fn top_is_object(&self) -> bool {
        self.bits & 1 == 1
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn skip_white_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    fn consume(&mut self, byte: u8) -> Result<(), usize> {
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.position)
        }
    }

    fn value(&mut self, stack: &mut ContainerStack) -> Result<State, usize> {
        let at = self.position;
        match self.peek() {
            Some(b'{') => {
                stack.push(true, at)?;
                self.position += 1;
                Ok(State::ObjectOpened)
            }
            Some(b'[') => {
                stack.push(false, at)?;
                self.position += 1;
                Ok(State::ArrayOpened)
            }
            Some(b'"') => self.string().map(|()| State::AfterValue),
            Some(b't') => self.literal(b"true").map(|()| State::AfterValue),
            Some(b'f') => self.literal(b"false").map(|()| State::AfterValue),
            Some(b'n') => self.literal(b"null").map(|()| State::AfterValue),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| State::AfterValue),
            _ => Err(at),
        }
    }

    /// A key, white space and the colon; the member's value comes next.
    fn member_key(&mut self) -> Result<State, usize> {
        if self.peek() != Some(b'"') {
            return Err(self.position);
        }
        self.string()?;
        self.skip_white_space();
        self.consume(b':')?;
        Ok(State::Value)
    }

    fn after_value(&mut self, stack: &mut ContainerStack) -> Result<State, usize> {
        let is_object = stack.top_is_object();
        match (self.peek(), is_object) {
            (Some(b','), true) => {
                self.position += 1;
                self.skip_white_space();
                self.member_key()
            }
            (Some(b','), false) => {
                self.position += 1;
                Ok(State::Value)
            }
            (Some(b'}'), true) | (Some(b']'), false) => {
                self.position += 1;
                stack.pop();
                Ok(State::AfterValue)
            }
            _ => Err(self.position),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), usize> {
        let end = self.position + word.len();
        if self.bytes.get(self.position..end) == Some(word) {
            self.position = end;
            Ok(())
        } else {
            Err(self.position)
        }
    }

    fn string(&mut self) -> Result<(), usize> {
        self.consume(b'"')?;
        loop {
            let at = self.position;
            match self.peek() {
                None => return Err(at),
                Some(b'"') => {
                    self.position += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.position += 1;
                    self.escape()?;
                }
                Some(byte) if byte < 0x20 => return Err(at),
                Some(_) => self.position += 1,
            }
        }
    }

    fn escape(&mut self) -> Result<(), usize> {
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.position += 1;
                Ok(())
            }
            Some(b'u') => {
                self.position += 1;
                for _ in 0..4 {
                    match self.peek() {
                        Some(byte) if byte.is_ascii_hexdigit() => self.position += 1,
                        _ => return Err(self.position),
                    }
                }
                Ok(())
            }
            _ => Err(self.position),
        }
    }

    fn digits(&mut self) -> Result<(), usize> {
        let start = self.position;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.position += 1;
        }
        if self.position == start {
            Err(start)
        } else {
            Ok(())
        }
    }

    fn number(&mut self) -> Result<(), usize> {
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        if self.peek() == Some(b'0') {
            self.position += 1;
        } else {
            self.digits()?;
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.position += 1;
            }
            self.digits()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::validate_object;

    #[test]
    fn accepts_objects() {
        for text in [
            "{}",
            " { } ",
            r#"{"kind":"function","line":12,"exported":true,"doc":null}"#,
            r#"{"a":[1,-2.5e+3,0.0,{"b":[]}],"c":"\u00e9\n\"x\""}"#,
            "{\"snowman\":\"\u{2603}\"}",
        ] {
            assert_eq!(validate_object(text.as_bytes()), Ok(()), "{text}");
        }
    }

    #[test]
    fn rejects_non_objects_with_the_offset_of_the_bad_byte() {
        let cases: [(&[u8], usize); 15] = [
            (b"", 0),
            (b"[]", 0),
            (b"\"x\"", 0),
            (b"{", 1),
            (b"{}}", 2),
            (b"{} x", 3),
            (b"{\"a\"}", 4),
            (b"{\"a\":}", 5),
            (b"{\"a\":1,}", 7),
            (b"{\"a\":01}", 6),
            (b"{\"a\":tru}", 5),
            (b"{\"a\":\"\x01\"}", 6),
            (b"{\"a\":\"\\q\"}", 7),
            (b"{\"a\":[1 2]}", 8),
            (b"{\"a\":\xff}", 5),
        ];
        for (text, offset) in cases {
            assert_eq!(validate_object(text), Err(offset), "{:?}", core::str::from_utf8(text));
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_rejected_not_recursed() {
        let mut deep = [b'['; 10_000];
        deep[0] = b'{';
        deep[1] = b'"';
        deep[2] = b'"';
        deep[3] = b':';
        assert!(validate_object(&deep).is_err());
        let mut ok = std::vec::Vec::new();
        ok.extend_from_slice(b"{\"a\":");
        ok.extend(core::iter::repeat_n(b'[', 63));
        ok.extend(core::iter::repeat_n(b']', 63));
        ok.push(b'}');
        assert_eq!(validate_object(&ok), Ok(()));
        ok.insert(5, b'[');
        ok.insert(ok.len() - 1, b']');
        assert_eq!(validate_object(&ok), Err(5 + 63));
    }
}
