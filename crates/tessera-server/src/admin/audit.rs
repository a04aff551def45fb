//! The audit trail's writer. Admin changes are written before the change is
//! acknowledged (`record_now`); token issuance, on the hot path, goes through
//! a queue that a background task drains in batches (`record`), one
//! transaction per batch, so a grant never waits on an audit insert.

use std::net::IpAddr;

use serde_json::{Map, Value};
use tessera_core::UnixTime;
use tessera_store::{AuditEvent, AuditOutcome, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// How many events wait for the writer before `record` starts to wait too.
const QUEUE_CAPACITY: usize = 8192;
/// The most events written in one transaction.
const BATCH: usize = 512;
/// How long the first event of a batch waits for company. Under load a batch
/// fills long before; idle, an event is written within this delay. Writing
/// each event as it came cost a transaction (and a thread hand-off) per
/// grant, which halved client_credentials throughput on SQLite.
const BATCH_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// What happened, before it is stamped and queued. Never put a secret in it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: String,
    pub action: &'static str,
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub ip: Option<IpAddr>,
    pub details: Map<String, Value>,
}

impl Entry {
    pub fn new(actor: impl Into<String>, action: &'static str) -> Entry {
        Entry {
            actor: actor.into(),
            action,
            target: None,
            outcome: AuditOutcome::Success,
            ip: None,
            details: Map::new(),
        }
    }

    pub fn target(mut self, target: impl Into<String>) -> Entry {
        self.target = Some(target.into());
        self
    }

    pub fn failed(mut self) -> Entry {
        self.outcome = AuditOutcome::Failure;
        self
    }

    pub fn ip(mut self, ip: Option<IpAddr>) -> Entry {
        self.ip = ip;
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Entry {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    pub fn stamp(self, at: UnixTime) -> AuditEvent {
        AuditEvent {
            event_id: 0,
            at,
            actor: self.actor,
            action: self.action.to_owned(),
            target: self.target,
            outcome: self.outcome,
            ip: self.ip.map(|ip| ip.to_string()),
            details: Value::Object(self.details).to_string(),
        }
    }
}

enum Command {
    Record(AuditEvent),
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// The handle handlers record through. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Command>,
}

impl AuditLog {
    /// Starts the background writer; it stops when the last handle is dropped.
    pub fn start(store: std::sync::Arc<dyn Store>) -> AuditLog {
        let (queue, commands) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(write_batches(store, commands));
        AuditLog { queue }
    }

    /// Queues an event (the hot path). Waits only if the writer is far behind.
    pub async fn record(&self, entry: Entry) {
        let event = entry.stamp(crate::unix_now());
        if self.queue.send(Command::Record(event)).await.is_err() {
            tracing::error!("the audit writer has stopped; an event was not recorded");
        }
    }

    /// Writes an event before returning: for changes that must not be
    /// acknowledged unless their record is kept.
    pub async fn record_now(&self, store: &dyn Store, entry: Entry) -> Result<(), StoreError> {
        store.record_audit_events(&[entry.stamp(crate::unix_now())]).await
    }

    /// Waits until every event queued so far is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.queue.send(Command::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_batches(store: std::sync::Arc<dyn Store>, mut commands: mpsc::Receiver<Command>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = commands.recv().await {
        let deadline = tokio::time::Instant::now() + BATCH_DELAY;
        let mut next = Some(first);
        while let Some(command) = next {
            match command {
                Command::Record(event) => batch.push(event),
                // Someone waits for the trail: write what there is now.
                Command::Flush(done) => {
                    waiting.push(done);
                    break;
                }
            }
            if batch.len() >= BATCH {
                break;
            }
            next = tokio::time::timeout_at(deadline, commands.recv()).await.ok().flatten();
        }
        if !batch.is_empty() {
            if let Err(err) = store.record_audit_events(&batch).await {
                // The events stay in memory for one retry; a lasting failure is logged, not hidden.
                tracing::error!(error = %err, events = batch.len(), "cannot write audit events; retrying once");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if let Err(err) = store.record_audit_events(&batch).await {
                    tracing::error!(error = %err, events = batch.len(), "audit events lost");
                }
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}
