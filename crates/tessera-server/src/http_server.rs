//! Accepting connections: HTTP/1.1 and HTTP/2, over TLS when configured,
//! with a deadline for each request's headers and a graceful shutdown.
//!
//! Written over hyper-util rather than `axum::serve`, which sets no header
//! timeout: a client that opens connections and trickles headers (slow loris)
//! would keep each one open for as long as it liked.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum_server::tls_rustls::RustlsConfig;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tower::Service;

use crate::error::ServerError;

/// How long in-flight requests may take to finish once shutdown is asked.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener`, over TLS if configured, until `shutdown`;
/// then stops accepting and lets in-flight requests finish.
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    match tls {
        Some(tls) => serve_tls(listener, tls, router, header_read_timeout, shutdown).await,
        None => {
            serve_plain(tokio::net::TcpListener::from_std(listener)?, router, header_read_timeout, shutdown)
                .await
        }
    }
}

fn connection_builder(header_read_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

async fn serve_plain(
    listener: tokio::net::TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let builder = connection_builder(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: pause rather than spin.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                tracing::trace!(%peer, "connection accepted");
                // Small responses go out at once rather than waiting on Nagle.
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let per_connection = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().call(request)
                });
                let (builder, watcher) = (builder.clone(), graceful.watcher());
                tokio::spawn(async move {
                    // hyper's header timeout starts once it knows the protocol, which takes a
                    // first byte: a connection that never sends one is dropped here.
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await {
                        Ok(Ok(read)) if read > 0 => {}
                        _ => return,
                    }
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), per_connection).into_owned();
                    if let Err(error) = watcher.watch(connection).await {
                        tracing::debug!(%error, "a connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after the shutdown grace period; closing their connections");
    }
    Ok(())
}

async fn serve_tls(
    listener: std::net::TcpListener,
    tls: RustlsConfig,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let handle = axum_server::Handle::new();
    let on_shutdown = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        on_shutdown.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let mut server = axum_server::from_tcp_rustls(listener, tls).handle(handle);
    *server.http_builder() = connection_builder(header_read_timeout);
    server.serve(router.into_make_service_with_connect_info::<SocketAddr>()).await?;
    Ok(())
}
