//! Refresh token rotations on SQLite, committed in groups.
//!
//! SQLite has one writer connection, and every statement on it is a hand-off
//! from an async worker to the connection's thread and back. Those hand-offs,
//! not SQLite, bounded rotations to a few thousand a second with the writer's
//! thread mostly idle: each request queued for the connection behind the
//! others' hand-offs. Here one task owns the rotations: what arrives while a
//! group is being written goes, together, into the next group's one statement.
//! An idle server writes a group of one at once; nothing waits for company.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use tessera_core::UnixTime;
use tessera_core::grant::refresh::RefreshTokenRecord;
use tessera_core::secret::SecretHash;
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;
use crate::rows::{RotatedRow, to_db_time};

/// The most rotations in one statement (three parameters each).
const MAX_GROUP: usize = 256;
/// Rotations waiting for the writer before callers wait to queue.
const QUEUE_CAPACITY: usize = 4096;

/// One token to rotate: `presented` marked rotated at `now`, `successor` stored.
struct Rotation {
    presented: SecretHash,
    successor: SecretHash,
    now: UnixTime,
    /// The successor's record, or `None` when `presented` was not live.
    reply: oneshot::Sender<Result<Option<RefreshTokenRecord>, StoreError>>,
}

/// The queue to the task that writes rotations; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Rotations {
    queue: mpsc::Sender<Rotation>,
}

impl Rotations {
    /// Starts the task that writes rotations on `writer`; it ends when the
    /// last clone of the returned queue is dropped.
    pub(crate) fn start(writer: SqlitePool) -> Rotations {
        let (queue, pending) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_groups(writer, pending));
        Rotations { queue }
    }

    /// Rotates `presented` if it is live: the successor's record, or `None`.
    pub(crate) async fn rotate(
        &self,
        presented: &SecretHash,
        successor: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let rotation = Rotation { presented: presented.clone(), successor: successor.clone(), now, reply };
        self.queue.send(rotation).await.map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

/// The task ends only with the runtime (or by a panic): as good as a closed pool.
fn writer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

async fn write_groups(writer: SqlitePool, mut pending: mpsc::Receiver<Rotation>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while pending.recv_many(&mut group, MAX_GROUP).await > 0 {
        // A token presented twice in one group: the first presentation goes
        // in the group; the later ones run after it, each alone, and find the
        // token rotated, as they would have one after the other.
        let (first, repeats) = split_repeats(group.drain(..));
        match rotate_group(&writer, &first).await {
            Ok(rotated) => {
                let mut by_predecessor: std::collections::HashMap<Vec<u8>, RotatedRow> =
                    rotated.into_iter().map(|row| (row.rotated_from.clone(), row)).collect();
                for rotation in first {
                    let successor = by_predecessor
                        .remove(rotation.presented.as_bytes().as_slice())
                        .map(|row| row.token.into_record());
                    let _ = rotation.reply.send(successor.transpose());
                }
            }
            // Say, a constraint one of them broke: each alone, so that only
            // that one fails.
            Err(err) => {
                tracing::debug!(error = %err, rotations = first.len(), "group rotation failed; rotating one by one");
                for rotation in first {
                    rotate_alone(&writer, rotation).await;
                }
            }
        }
        for rotation in repeats {
            rotate_alone(&writer, rotation).await;
        }
    }
}

/// Splits off the second and later presentations of each token.
fn split_repeats(group: impl Iterator<Item = Rotation>) -> (Vec<Rotation>, Vec<Rotation>) {
    let mut seen = std::collections::HashSet::with_capacity(MAX_GROUP);
    group.partition(|rotation| seen.insert(*rotation.presented.as_bytes()))
}

async fn rotate_group(writer: &SqlitePool, group: &[Rotation]) -> Result<Vec<RotatedRow>, StoreError> {
    let mut statement = QueryBuilder::<Sqlite>::new("WITH presented (token_hash, successor_hash, at) AS (");
    statement.push_values(group, |mut row, rotation| {
        row.push_bind(rotation.presented.as_bytes().to_vec())
            .push_bind(rotation.successor.as_bytes().to_vec())
            .push_bind(to_db_time(rotation.now));
    });
    // Inserting a successor marks its predecessor (`rotated_from`) rotated:
    // the trigger of migration 0020, in this same statement.
    statement.push(
        ") INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time, created_at,
         expires_at, dpop_jkt, resources, rotated_from)
         SELECT p.successor_hash, r.family_id, r.client_id, r.user_id, r.scope, r.auth_time, p.at, r.expires_at,
         r.dpop_jkt, r.resources, r.token_hash
         FROM presented p JOIN refresh_tokens r ON r.token_hash = p.token_hash
         WHERE r.rotated_at IS NULL AND r.revoked_at IS NULL
         RETURNING token_hash, family_id, client_id, user_id, scope, auth_time, created_at, expires_at,
         rotated_at, revoked_at, dpop_jkt, resources, rotated_from",
    );
    Ok(statement.build_query_as::<RotatedRow>().fetch_all(writer).await?)
}

async fn rotate_alone(writer: &SqlitePool, rotation: Rotation) {
    let outcome = rotate_group(writer, std::slice::from_ref(&rotation))
        .await
        .and_then(|rows| rows.into_iter().next().map(|row| row.token.into_record()).transpose());
    let _ = rotation.reply.send(outcome);
}
