//! WAL replay into the store: every logged record is validated, planned and applied exactly
//! as the live write was, so replay rebuilds the memtable the log describes; records that
//! no longer fit this config are a capacity error, records that cannot have been logged are
//! invalid.

use super::Store;
use crate::config::Config;
use crate::error::{Error, Resource};
use crate::validate::validate_block;
use crate::vfs::Vfs;
use crate::wal::format::Record;
use crate::wal::recovery::{ApplyError, ReplayTarget};

/// Applies replayed records with the same planning as live writes.
pub(crate) struct Replayer<'a, 'r> {
    pub(crate) store: &'a mut Store<'r>,
    pub(crate) config: &'a Config,
}

fn failed(error: Error) -> ApplyError {
    match error {
        Error::NotFound => ApplyError::Invalid,
        other => ApplyError::Failed(other),
    }
}

impl<V: Vfs> ReplayTarget<V> for Replayer<'_, '_> {
    fn apply(&mut self, vfs: &mut V, sequence: u64, record: Record<'_>) -> Result<(), ApplyError> {
        let store = &mut *self.store;
        match record {
            Record::PutBlock { id, source_uri, metadata_json, content } => {
                validate_block(self.config, &id, source_uri, metadata_json, content).map_err(
                    |error| match error {
                        // Written under larger limits: this config cannot hold it.
                        Error::SourceUriTooLong { .. }
                        | Error::MetadataTooLong { .. }
                        | Error::ContentTooLong { .. } => {
                            ApplyError::Capacity(Resource::RecordBytes)
                        }
                        _ => ApplyError::Invalid,
                    },
                )?;
                let payload = source_uri.len() + metadata_json.len() + content.len();
                let plan = store.plan_put_block(vfs, &id, payload).map_err(failed)?;
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store.apply_put_block(&plan, &id, sequence, [source_uri, metadata_json, content]);
            }
            Record::DeleteBlock { id } => {
                let plan = store.plan_delete_block(vfs, &id).map_err(failed)?;
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store.apply_delete_block(vfs, &plan, &id, sequence).map_err(ApplyError::Failed)?;
            }
            Record::PutEdge(edge) => {
                // A logged put is never a duplicate, and its endpoints existed when logged.
                let plan =
                    store.plan_put_edge(vfs, &edge).map_err(failed)?.ok_or(ApplyError::Invalid)?;
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store.apply_put_edge(&edge);
            }
            Record::DeleteEdge(edge) => {
                let plan = store.plan_delete_edge(vfs, &edge).map_err(failed)?;
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store.apply_delete_edge(&edge);
            }
            // Recovery consumes markers itself.
            Record::CloseMarker => return Err(ApplyError::Invalid),
        }
        Ok(())
    }
}
