//! Sentences for errors, piece by piece (text and decimal numbers), so that a host
//! without `core::fmt` can say them: `Display` is one place a sentence goes, the C API's
//! fixed message buffer another (in the firmware image the formatting machinery was 3 KiB
//! of code and 2 KiB of read-only data).

/// Where an error's sentence goes, piece by piece.
pub trait Sentence {
    /// Appends `text`.
    fn text(&mut self, text: &str);
    /// Appends `value` in decimal.
    fn number(&mut self, value: u64);
}

/// `Display` through a `Sentence`: the first write error is kept and returned.
struct FormatterSentence<'a, 'f> {
    formatter: &'a mut core::fmt::Formatter<'f>,
    result: core::fmt::Result,
}

impl Sentence for FormatterSentence<'_, '_> {
    fn text(&mut self, text: &str) {
        if self.result.is_ok() {
            self.result = self.formatter.write_str(text);
        }
    }

    fn number(&mut self, value: u64) {
        if self.result.is_ok() {
            self.result = write!(self.formatter, "{value}");
        }
    }
}

/// `Display` for a type that says itself through a `Sentence`.
pub(crate) fn display_with(
    formatter: &mut core::fmt::Formatter<'_>,
    describe: impl FnOnce(&mut dyn Sentence),
) -> core::fmt::Result {
    let mut sentence = FormatterSentence { formatter, result: Ok(()) };
    describe(&mut sentence);
    sentence.result
}
