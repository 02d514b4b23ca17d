//! WAL replay into the store: every logged record is validated and applied as the live
//! write was, so replay rebuilds the memtable the log describes; records that no longer fit
//! this config are a capacity error, records that cannot have been logged are invalid.
//! Format-2 records carry what the write did (a put's "created", a delete's removed
//! edges), so replay reads no table and a damaged table page cannot stop an open.

use super::{FrozenAt, Plan, Store};
use crate::config::Config;
use crate::error::{Error, Resource};
use crate::id::BlockId;
use crate::validate::{validate_block, Rules};
use crate::vfs::Vfs;
use crate::wal::format::Record;
use crate::wal::recovery::{ApplyError, LogPlace, ReplayTarget};

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

impl Replayer<'_, '_> {
    /// Whether a full memtable is frozen (`Config::memtable_freezes`): never in `small-code`.
    fn memtable_freezes(&self) -> bool {
        self.config.memtable_freezes()
    }

    /// Where a full memtable is frozen, a write that does not fit the memtable froze it when it
    /// was made (the live engine plans the same room): it freezes it here too, once, at the
    /// write's place in the log. Anything else that does not fit is a capacity error.
    fn freeze_for(
        &mut self,
        (sequence, place): (u64, LogPlace),
        resource: Resource,
    ) -> Result<(), ApplyError> {
        let freezes = self.memtable_freezes();
        let store = &mut *self.store;
        if !freezes || store.flushing_frozen() || store.memtable.is_empty() {
            return Err(ApplyError::Capacity(resource));
        }
        let live = (store.blocks_live, store.edges_live);
        let at = FrozenAt { position: place.position, sequence, segment: place.segment, live };
        store.freeze(at);
        Ok(())
    }

    /// Format 2 records say what the write did, so applying them reads no table; format 1
    /// puts and deletes read the tables to find out, as their live writes did.
    fn apply_record<V: Vfs>(
        &mut self,
        vfs: &mut V,
        sequence: u64,
        record: Record<'_>,
    ) -> Result<(), ApplyError> {
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
                    .remove_edges_of(vfs, &id, &plan, usize::MAX, &mut |_, _, _| Ok(()))
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

impl<V: Vfs> ReplayTarget<V> for Replayer<'_, '_> {
    fn apply(
        &mut self,
        vfs: &mut V,
        (sequence, place): (u64, LogPlace),
        record: Record<'_>,
    ) -> Result<(), ApplyError> {
        // A record that does not fit changed nothing: room is checked before applying (a
        // delete's frames, which tombstone edge by edge, had theirs reserved first).
        match self.apply_record(vfs, sequence, record) {
            Err(ApplyError::Capacity(resource)) => {
                self.freeze_for((sequence, place), resource)?;
                self.apply_record(vfs, sequence, record)
            }
            applied => applied,
        }
    }

    /// The room the live delete planned, less its generous count: a tombstone for `id` and
    /// for each removed edge, and a stub for each edge's other end (so replay freezes no
    /// earlier than the live write did, and the memtable after a freeze holds no more).
    fn reserve_delete(
        &mut self,
        (sequence, place): (u64, LogPlace),
        id: &BlockId,
        edges: u32,
    ) -> Result<(), ApplyError> {
        if !self.memtable_freezes() {
            // Nothing can freeze: each frame's room is checked as it is applied.
            return Ok(());
        }
        let store = &*self.store;
        let plan = Plan {
            entries: store.memtable.new_entries(&[*id]).saturating_add(edges),
            edge_records: edges as usize,
            ..Plan::default()
        };
        match store.room_for(&plan) {
            Ok(()) => Ok(()),
            Err(resource) => self.freeze_for((sequence, place), resource),
        }
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
