//! Argument checks shared by live writes and WAL replay, so a record the engine logged is
//! judged by exactly the rules that admitted it.

use crate::config::Config;
use crate::edge::Edge;
use crate::error::Error;
use crate::id::BlockId;

/// Checks a block's fields against `config`; the same checks run on write and on replay.
pub(crate) fn validate_block(
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
        return Err(Error::SourceUriTooLong {
            bytes: source_uri.len(),
            bytes_max: config.source_uri_bytes_max,
        });
    }
    if core::str::from_utf8(source_uri).is_err() {
        return Err(Error::SourceUriNotUtf8);
    }
    if metadata_json.len() > config.metadata_bytes_max as usize {
        return Err(Error::MetadataTooLong {
            bytes: metadata_json.len(),
            bytes_max: config.metadata_bytes_max,
        });
    }
    if content.len() > config.content_bytes_max as usize {
        return Err(Error::ContentTooLong {
            bytes: content.len(),
            bytes_max: config.content_bytes_max,
        });
    }
    crate::json::validate_object(metadata_json).map_err(|offset| Error::MetadataInvalid { offset })
}

/// Checks an edge's ends are valid ids (whether they exist is the store's question).
pub(crate) fn validate_edge(edge: &Edge) -> Result<(), Error> {
    if edge.source.is_zero() || edge.target.is_zero() {
        return Err(Error::IdZero);
    }
    Ok(())
}
