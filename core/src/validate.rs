//! Argument checks shared by live writes and WAL replay, so a record the engine logged is
//! judged by exactly the rules that admitted it.

use crate::config::Config;
use crate::edge::Edge;
use crate::error::Error;
use crate::id::BlockId;

/// Which rules judge a block: a new write's, or a logged record's (which an earlier version
/// may have admitted under looser metadata rules; see `json::validate_logged_object`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rules {
    Write,
    Replay,
}

/// Checks a block's fields against `config`; the same checks run on write and on replay,
/// but for replay's metadata rule (`Rules`).
pub(crate) fn validate_block(
    rules: Rules,
    config: &Config,
    id: &BlockId,
    source_uri: &[u8],
    metadata_json: &[u8],
    content: &[u8],
) -> Result<(), Error> {
    if id.is_zero() {
        return Err(Error::IdZero);
    }
    if source_uri.len() > config.source_uri_bytes_max as usize {
        return Err(Error::SourceUriTooLong { bytes: source_uri.len() });
    }
    if core::str::from_utf8(source_uri).is_err() {
        return Err(Error::SourceUriNotUtf8);
    }
    if metadata_json.len() > config.metadata_bytes_max as usize {
        return Err(Error::MetadataTooLong { bytes: metadata_json.len() });
    }
    if content.len() > config.content_bytes_max as usize {
        return Err(Error::ContentTooLong { bytes: content.len() });
    }
    let metadata = match rules {
        Rules::Write => crate::json::validate_object(metadata_json),
        Rules::Replay => crate::json::validate_logged_object(metadata_json),
    };
    metadata.map_err(|offset| Error::MetadataInvalid { offset })
}

/// Checks an edge's ends are valid ids (whether they exist is the store's question).
pub(crate) fn validate_edge(edge: &Edge) -> Result<(), Error> {
    if edge.source.is_zero() || edge.target.is_zero() {
        return Err(Error::IdZero);
    }
    Ok(())
}
