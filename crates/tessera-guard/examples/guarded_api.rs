//! A small API behind the guard: `GET /me` needs any valid token from the
//! issuer, `GET /invoices` also needs the `invoices:read` scope.
//!
//! ```text
//! TESSERA_ISSUER=http://127.0.0.1:8080 cargo run -p tessera-guard --example guarded_api
//! curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/invoices
//! ```
//!
//! `GUARDED_API_AUDIENCE` sets the accepted `aud` (default: the issuer, as
//! Tessera issues it) and `GUARDED_API_ADDR` the listening address.

use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use tessera_guard::{Guard, GuardConfig, VerifiedToken};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = std::env::var("TESSERA_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let address = std::env::var("GUARDED_API_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let mut config = GuardConfig::new(issuer);
    if let Ok(audience) = std::env::var("GUARDED_API_AUDIENCE") {
        config = config.audience(audience);
    }
    let guard = Guard::new(config)?;
    // Fail fast on a wrong issuer; requests would fetch the keys anyway.
    if let Err(error) = guard.refresh_keys().await {
        eprintln!("warning: cannot fetch the issuer's keys yet: {error}");
    }

    let app = Router::new()
        .route("/invoices", get(invoices))
        .route_layer(guard.require_scope(["invoices:read"]))
        .route("/me", get(me))
        .layer(guard.layer());

    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("guarded API on http://{address}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn invoices(Extension(token): Extension<VerifiedToken>) -> Json<Value> {
    Json(json!({ "owner": token.subject(), "invoices": [{ "id": 1, "amount": 42 }] }))
}

async fn me(Extension(token): Extension<VerifiedToken>) -> Json<Value> {
    Json(json!({ "client_id": token.client_id(), "sub": token.subject(), "scopes": token.scopes }))
}
