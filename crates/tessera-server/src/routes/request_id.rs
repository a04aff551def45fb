//! Request ids: a random per-process prefix and a counter. Unique across
//! replicas and restarts (the prefix is 64 random bits), and free of a system
//! call per request, unlike a v4 UUID.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

#[derive(Clone)]
pub(crate) struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        let mut bytes = [0u8; 8];
        // Without randomness the prefix is zero: ids stay unique within the process.
        let _ = aws_lc_rs::rand::fill(&mut bytes);
        RequestIds { prefix: u64::from_le_bytes(bytes), next: Arc::new(AtomicU64::new(1)) }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:016x}-{n:08x}", self.prefix)).ok().map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_share_the_process_prefix() {
        let mut ids = RequestIds::new();
        let request = Request::new(());
        let first = ids.make_request_id(&request).expect("id");
        let second = ids.clone().make_request_id(&request).expect("id");
        let (first, second) =
            (first.header_value().to_str().expect("ascii"), second.header_value().to_str().expect("ascii"));
        assert_ne!(first, second);
        assert_eq!(first[..16], second[..16], "one prefix per process");
        assert_eq!(first.len(), 25);
    }
}
