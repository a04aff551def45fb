//! A local HTTP server standing in for a client's web presence: it serves the
//! documents a test puts at a path (key sets, metadata documents, or answers
//! that must be refused) and counts how often each path was fetched.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// What the server answers at one path.
#[derive(Clone)]
pub(crate) enum Answer {
    /// A status, a `Content-Type` and a body, with extra headers.
    Fixed { status: u16, content_type: &'static str, body: String, headers: Vec<(&'static str, String)> },
    /// A JSON body that never ends, sent in chunks without a length.
    Endless,
    /// `inner`, after a pause.
    Slow(Duration, Box<Answer>),
}

impl Answer {
    pub(crate) fn json(value: &Value) -> Answer {
        Answer::Fixed {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
            headers: vec![],
        }
    }

    pub(crate) fn json_with_cache_control(value: &Value, cache_control: &str) -> Answer {
        Answer::Fixed {
            status: 200,
            content_type: "application/json",
            body: value.to_string(),
            headers: vec![("cache-control", cache_control.to_owned())],
        }
    }

    pub(crate) fn status(status: u16) -> Answer {
        Answer::Fixed { status, content_type: "application/json", body: "{}".into(), headers: vec![] }
    }

    pub(crate) fn redirect(to: &str) -> Answer {
        Answer::Fixed {
            status: 302,
            content_type: "application/json",
            body: "{}".into(),
            headers: vec![("location", to.to_owned())],
        }
    }

    pub(crate) fn typed(content_type: &'static str, body: &str) -> Answer {
        Answer::Fixed { status: 200, content_type, body: body.to_owned(), headers: vec![] }
    }
}

#[derive(Default)]
struct Served {
    answers: Mutex<HashMap<String, Answer>>,
    hits: Mutex<HashMap<String, usize>>,
}

/// Stops the server when dropped.
pub(crate) struct DocumentServer {
    base_url: String,
    served: Arc<Served>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DocumentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DocumentServer {
    pub(crate) async fn start() -> DocumentServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("local address"));
        let served = Arc::new(Served::default());
        let router = axum::Router::new().fallback(answer).with_state(Arc::clone(&served));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        DocumentServer { base_url, served, task }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub(crate) fn serve(&self, path: &str, answer: Answer) {
        self.served.answers.lock().expect("answers").insert(path.to_owned(), answer);
    }

    pub(crate) fn serve_json(&self, path: &str, value: &Value) {
        self.serve(path, Answer::json(value));
    }

    /// How many requests reached `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.served.hits.lock().expect("hits").get(path).copied().unwrap_or(0)
    }
}

async fn answer(State(served): State<Arc<Served>>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    *served.hits.lock().expect("hits").entry(path.clone()).or_default() += 1;
    let answer = served.answers.lock().expect("answers").get(&path).cloned();
    match answer {
        Some(answer) => respond(answer).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn respond(mut answer: Answer) -> Response {
    while let Answer::Slow(pause, inner) = answer {
        tokio::time::sleep(pause).await;
        answer = *inner;
    }
    match answer {
        Answer::Fixed { status, content_type, body, headers } => {
            let mut response = body.into_response();
            *response.status_mut() = StatusCode::from_u16(status).expect("status");
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            for (name, value) in headers {
                response.headers_mut().insert(name, HeaderValue::from_str(&value).expect("header"));
            }
            response
        }
        Answer::Endless => {
            let chunks = futures::stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from(vec![b' '; 8192])));
            let mut response = Body::from_stream(chunks).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Answer::Slow(..) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
