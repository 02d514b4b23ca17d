//! WAL replay into the store: every logged record is validated and applied as the live
//! write was, so replay rebuilds the memtable the log describes; records that no longer fit
//! this config are a capacity error, records that cannot have been logged are invalid.
//! Format-2 records carry what the write did (a put's "created", a delete's removed
//! edges), so replay reads no table and a damaged table page cannot stop an open.

use super::{Plan, Store};
use crate::config::Config;
use crate::error::{Error, Resource};
use crate::validate::{validate_block, Rules};
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
    /// Format 2 records say what the write did, so applying them reads no table; format 1
    /// puts and deletes read the tables to find out, as their live writes did.
    fn apply(&mut self, vfs: &mut V, sequence: u64, record: Record<'_>) -> Result<(), ApplyError> {
        let store = &mut *self.store;
        match record {
            Record::PutBlock { id, source_uri, metadata_json, content, created } => {
                validate_block(Rules::Replay, self.config, &id, source_uri, metadata_json, content)
                    .map_err(too_long_or_invalid)?;
                let payload = source_uri.len() + metadata_json.len() + content.len();
                let plan = match created {
                    Some(new_block) => Plan {
                        entries: store.memtable.new_entries(&[id]),
                        payload_bytes: payload,
                        new_block,
                        ..Plan::default()
                    },
                    None => store.plan_put_block(vfs, &id, payload).map_err(failed)?,
                };
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store
                    .apply_put_block(&plan, &id, sequence, [source_uri, metadata_json, content])
                    .ok_or(ApplyError::Invalid)?;
            }
            Record::DeletedEdges(deleted) => {
                for edge in deleted.edges() {
                    store.room_for(&store.edge_plan(&edge)).map_err(ApplyError::Capacity)?;
                    store.tombstone_edges([edge]);
                }
            }
            Record::DeleteBlock { id, edges_removed: Some(edges_removed) } => {
                let plan = Plan { entries: store.memtable.new_entries(&[id]), ..Plan::default() };
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                store
                    .finish_delete_block(&id, sequence, u64::from(edges_removed))
                    .ok_or(ApplyError::Invalid)?;
            }
            Record::DeleteBlock { id, edges_removed: None } => {
                let plan = store.plan_delete_block(vfs, &id).map_err(failed)?;
                store.room_for(&plan).map_err(ApplyError::Capacity)?;
                let removed = store
                    .remove_edges_of(vfs, &id, &plan, usize::MAX, |_, _, _| Ok(()))
                    .map_err(ApplyError::Failed)?;
                store.finish_delete_block(&id, sequence, removed).ok_or(ApplyError::Invalid)?;
            }
            // A logged edge write changed the edge (a put is never a duplicate, a delete
            // removed a live edge): applied without reading the tables, in either format.
            Record::PutEdge(edge) => {
                store.room_for(&store.edge_plan(&edge)).map_err(ApplyError::Capacity)?;
                store.apply_put_edge(&edge).ok_or(ApplyError::Invalid)?;
            }
            Record::DeleteEdge(edge) => {
                store.room_for(&store.edge_plan(&edge)).map_err(ApplyError::Capacity)?;
                store.apply_delete_edge(&edge).ok_or(ApplyError::Invalid)?;
            }
            // Recovery consumes markers itself.
            Record::CloseMarker => return Err(ApplyError::Invalid),
        }
        Ok(())
    }
}

/// A logged block that this config's limits refuse was written under larger limits: this
/// config cannot hold it. Any other refusal means the record cannot have been logged.
fn too_long_or_invalid(error: Error) -> ApplyError {
    match error {
        Error::SourceUriTooLong { .. }
        | Error::MetadataTooLong { .. }
        | Error::ContentTooLong { .. } => ApplyError::Capacity(Resource::RecordBytes),
        _ => ApplyError::Invalid,
    }
}
