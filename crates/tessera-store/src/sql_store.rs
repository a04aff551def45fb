//! The one implementation of [`Store`](crate::Store) in SQL, instantiated for
//! every backend by [`sql_store!`]. The statements use `$N` placeholders, which
//! PostgreSQL and SQLite (through sqlx) both accept, so the SQL is written once;
//! only the migrations, in `migrations/<backend>`, differ.

/// Implements `Store` for `$store`, a struct with a `pool: sqlx::Pool<$db>` field.
/// `$lock_row` is the row-locking clause of the backend (`FOR UPDATE` on
/// PostgreSQL; SQLite has none, and needs none: it runs one writer at a time).
/// Each backend rotates a live refresh token its own way, in one statement
/// (`rotate_live_refresh_token`); what to make of a token that was not live
/// is decided here.
macro_rules! sql_store {
    ($store:ty, $db:ty, $lock_row:literal) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
            async fn checkpoint(&self) -> Result<(), $crate::StoreError> {
                self.checkpoint_wal().await
            }

            async fn ping(&self) -> Result<(), $crate::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create_scope(&self, scope: &$crate::ScopeRecord) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                sqlx::query("INSERT INTO scopes (name, description, created_at) VALUES ($1, $2, $3)")
                    .bind(scope.name.as_str())
                    .bind(&scope.description)
                    .bind($crate::rows::to_db_time(scope.created_at))
                    .execute(&self.writer)
                    .await
                    .on_unique_violation(|| format!("scope `{}` already exists", scope.name))?;
                Ok(())
            }

            async fn list_scopes(&self) -> Result<Vec<$crate::ScopeRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::ScopeRow>(
                    "SELECT name, description, created_at FROM scopes ORDER BY name",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map($crate::rows::ScopeRow::into_record)
                .collect()
            }

            async fn delete_scope(&self, name: &str) -> Result<bool, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let holders: Vec<String> = sqlx::query_scalar(
                    "SELECT client_id FROM client_scopes WHERE scope = $1 ORDER BY client_id LIMIT 5",
                )
                .bind(name)
                .fetch_all(&mut *tx)
                .await?;
                if !holders.is_empty() {
                    return Err($crate::rows::scope_in_use(name, &holders));
                }
                let deleted =
                    sqlx::query("DELETE FROM scopes WHERE name = $1").bind(name).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn create_client(
                &self,
                client: &tessera_core::client::Client,
            ) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                let mut tx = self.writer.begin().await?;
                $crate::rows::ClientRow::from_client(client)
                    .bind(sqlx::query(
                        "INSERT INTO clients (name, org_url, secret_hash, redirect_uris, grant_types, resources,
                         created_at, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method,
                         disabled, may_introspect_any_token, registration_token_hash, require_pkce,
                         post_logout_redirect_uris, owner_user_id, access_token_lifetime, jwks, jwks_uri,
                         dpop_bound_access_tokens, require_pushed_authorization_requests, client_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                         $19, $20, $21, $22)",
                    ))
                    .execute(&mut *tx)
                    .await
                    .on_unique_violation(|| format!("client `{}` already exists", client.client_id))?;
                insert_client_scopes(&mut tx, client).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find_client(
                &self,
                client_id: &str,
            ) -> Result<Option<tessera_core::client::Client>, $crate::StoreError> {
                let mut conn = self.pool.acquire().await?;
                let row = sqlx::query_as::<_, $crate::rows::ClientRow>(
                    "SELECT name, org_url, secret_hash, redirect_uris, grant_types, resources,
                     created_at, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method,
                     disabled, may_introspect_any_token, registration_token_hash, require_pkce,
                     post_logout_redirect_uris, owner_user_id, access_token_lifetime, jwks, jwks_uri,
                     dpop_bound_access_tokens, require_pushed_authorization_requests, client_id
                     FROM clients WHERE client_id = $1",
                )
                .bind(client_id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let scopes = sqlx::query_as::<_, $crate::rows::ClientScopeRow>(
                    "SELECT scope, is_default FROM client_scopes WHERE client_id = $1",
                )
                .bind(client_id)
                .fetch_all(&mut *conn)
                .await?;
                row.into_client(scopes).map(Some)
            }

            async fn list_clients(&self) -> Result<Vec<tessera_core::client::Client>, $crate::StoreError> {
                let ids: Vec<String> =
                    sqlx::query_scalar("SELECT client_id FROM clients ORDER BY created_at, client_id")
                        .fetch_all(&self.pool)
                        .await?;
                let mut clients = Vec::with_capacity(ids.len());
                for id in ids {
                    // A client deleted between the two reads is simply not listed.
                    if let Some(client) = self.find_client(&id).await? {
                        clients.push(client);
                    }
                }
                Ok(clients)
            }

            async fn update_client(
                &self,
                client: &tessera_core::client::Client,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let updated = $crate::rows::ClientRow::from_client(client)
                    .bind(sqlx::query(
                        "UPDATE clients SET name = $1, org_url = $2, secret_hash = $3, redirect_uris = $4,
                         grant_types = $5, resources = $6, created_at = $7, previous_secret_hash = $8,
                         previous_secret_expires_at = $9, token_endpoint_auth_method = $10, disabled = $11,
                         may_introspect_any_token = $12, registration_token_hash = $13, require_pkce = $14,
                         post_logout_redirect_uris = $15, owner_user_id = $16, access_token_lifetime = $17,
                         jwks = $18, jwks_uri = $19, dpop_bound_access_tokens = $20,
                         require_pushed_authorization_requests = $21
                         WHERE client_id = $22",
                    ))
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM client_scopes WHERE client_id = $1")
                    .bind(&client.client_id)
                    .execute(&mut *tx)
                    .await?;
                insert_client_scopes(&mut tx, client).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn delete_client(&self, client_id: &str) -> Result<bool, $crate::StoreError> {
                let deleted = sqlx::query("DELETE FROM clients WHERE client_id = $1")
                    .bind(client_id)
                    .execute(&self.writer)
                    .await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn mark_client_used(
                &self,
                client_id: &str,
                now: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                let marked = sqlx::query(
                    "INSERT INTO client_first_use (client_id, first_used_at)
                     SELECT client_id, $2 FROM clients WHERE client_id = $1
                     ON CONFLICT (client_id) DO NOTHING",
                )
                .bind(client_id)
                .bind($crate::rows::to_db_time(now))
                .execute(&self.writer)
                .await;
                match marked {
                    Ok(marked) => Ok(marked.rows_affected() == 1),
                    // Deleted between the SELECT and the key check (PostgreSQL).
                    Err(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => Ok(false),
                    Err(err) => Err(err.into()),
                }
            }

            async fn delete_unused_registrations(
                &self,
                created_before: tessera_core::UnixTime,
                limit: u32,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                // The candidates are locked first (PostgreSQL), so that a first
                // use is either committed before the check below, which then
                // sees it, or waits for this transaction and finds the client gone.
                let candidates: Vec<String> = sqlx::query_scalar(concat!(
                    "SELECT client_id FROM clients
                     WHERE registration_token_hash IS NOT NULL AND owner_user_id IS NULL AND created_at < $1
                     AND NOT EXISTS (SELECT 1 FROM client_first_use WHERE client_first_use.client_id = clients.client_id)
                     ORDER BY created_at, client_id LIMIT $2",
                    $lock_row
                ))
                .bind($crate::rows::to_db_time(created_before))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let mut deleted = Vec::with_capacity(candidates.len());
                for client_id in candidates {
                    // Codes, refresh tokens, consents, pushed requests and scopes go by cascade.
                    let gone = sqlx::query(
                        "DELETE FROM clients WHERE client_id = $1
                         AND NOT EXISTS (SELECT 1 FROM client_first_use WHERE client_first_use.client_id = $1)",
                    )
                    .bind(&client_id)
                    .execute(&mut *tx)
                    .await?;
                    if gone.rows_affected() == 1 {
                        deleted.push(client_id);
                    }
                }
                tx.commit().await?;
                Ok(deleted)
            }

            async fn revoke_access_token(
                &self,
                jti: &str,
                expires_at: tessera_core::UnixTime,
                now: tessera_core::UnixTime,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at <= $1")
                    .bind($crate::rows::to_db_time(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(jti)
                .bind($crate::rows::to_db_time(expires_at))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn is_access_token_revoked(&self, jti: &str) -> Result<bool, $crate::StoreError> {
                Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1)")
                    .bind(jti)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn create_registration_token(
                &self,
                token_hash: &tessera_core::secret::SecretHash,
                created_at: tessera_core::UnixTime,
                expires_at: Option<tessera_core::UnixTime>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                sqlx::query(
                    "INSERT INTO registration_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
                )
                .bind(token_hash.as_bytes().to_vec())
                .bind($crate::rows::to_db_time(created_at))
                .bind(expires_at.map($crate::rows::to_db_time))
                .execute(&self.writer)
                .await
                .on_unique_violation(|| "registration token already exists".into())?;
                Ok(())
            }

            async fn is_registration_token_valid(
                &self,
                token_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM registration_tokens
                     WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2))",
                )
                .bind(token_hash.as_bytes().to_vec())
                .bind($crate::rows::to_db_time(now))
                .fetch_one(&self.pool)
                .await?)
            }

            async fn create_user(&self, user: &tessera_core::user::User) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                $crate::rows::UserRow::from_user(user)
                    .bind(sqlx::query(
                        "INSERT INTO users (username, email, email_verified, name, password_hash, disabled,
                         role, created_at, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    ))
                    .execute(&self.writer)
                    .await
                    .on_unique_violation(|| format!("user `{}` already exists", user.username))?;
                Ok(())
            }

            async fn find_user(
                &self,
                user_id: &str,
            ) -> Result<Option<tessera_core::user::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(concat!($crate::sql_store::USER_SELECT!(), " WHERE user_id = $1"))
                    .bind(user_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map($crate::rows::UserRow::into_user)
                    .transpose()
            }

            async fn find_user_by_username(
                &self,
                username: &str,
            ) -> Result<Option<tessera_core::user::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(concat!($crate::sql_store::USER_SELECT!(), " WHERE username = $1"))
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await?
                    .map($crate::rows::UserRow::into_user)
                    .transpose()
            }

            async fn list_users(&self) -> Result<Vec<tessera_core::user::User>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::UserRow>(concat!($crate::sql_store::USER_SELECT!(), " ORDER BY username"))
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map($crate::rows::UserRow::into_user)
                    .collect()
            }

            async fn update_user(&self, user: &tessera_core::user::User) -> Result<bool, $crate::StoreError> {
                use $crate::error::OnConstraint;
                let updated = $crate::rows::UserRow::from_user(user)
                    .bind(sqlx::query(
                        "UPDATE users SET username = $1, email = $2, email_verified = $3, name = $4,
                         password_hash = $5, disabled = $6, role = $7, created_at = $8 WHERE user_id = $9",
                    ))
                    .execute(&self.writer)
                    .await
                    .on_unique_violation(|| format!("user `{}` already exists", user.username))?;
                Ok(updated.rows_affected() > 0)
            }

            async fn create_session(&self, session: &$crate::SessionRecord) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO sessions (session_hash, user_id, auth_time, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.session_hash.as_bytes().to_vec())
                .bind(&session.user_id)
                .bind($crate::rows::to_db_time(session.auth_time))
                .bind($crate::rows::to_db_time(session.expires_at))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn find_session(
                &self,
                session_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<Option<$crate::SessionRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::SessionRow>(
                    "SELECT session_hash, user_id, auth_time, expires_at FROM sessions
                     WHERE session_hash = $1 AND expires_at > $2",
                )
                .bind(session_hash.as_bytes().to_vec())
                .bind($crate::rows::to_db_time(now))
                .fetch_optional(&self.pool)
                .await?
                .map($crate::rows::SessionRow::into_record)
                .transpose()
            }

            async fn delete_session(
                &self,
                session_hash: &tessera_core::secret::SecretHash,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
                    .bind(session_hash.as_bytes().to_vec())
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn delete_user_sessions(&self, user_id: &str) -> Result<u64, $crate::StoreError> {
                let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&self.writer).await?;
                Ok(ended.rows_affected())
            }

            async fn save_consent(
                &self,
                user_id: &str,
                client_id: &str,
                scope: &tessera_core::scope::ScopeSet,
                now: tessera_core::UnixTime,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
                )
                .bind(user_id)
                .bind(client_id)
                .bind(scope.to_string())
                .bind($crate::rows::to_db_time(now))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn find_consent(
                &self,
                user_id: &str,
                client_id: &str,
            ) -> Result<Option<tessera_core::scope::ScopeSet>, $crate::StoreError> {
                let scope: Option<String> =
                    sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                        .bind(user_id)
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await?;
                scope.as_deref().map($crate::rows::parse_scope).transpose()
            }

            async fn list_consents(
                &self,
                user_id: &str,
            ) -> Result<Vec<(String, tessera_core::scope::ScopeSet, tessera_core::UnixTime)>, $crate::StoreError> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(
                    "SELECT client_id, scope, granted_at FROM consents WHERE user_id = $1 ORDER BY granted_at DESC, client_id",
                )
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(client_id, scope, granted_at)| {
                        Ok((client_id, $crate::rows::parse_scope(&scope)?, $crate::rows::from_db_time(granted_at)))
                    })
                    .collect()
            }

            async fn withdraw_consent(
                &self,
                user_id: &str,
                client_id: &str,
                now: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.writer.begin().await?;
                let deleted = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1
                     WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
                )
                .bind($crate::rows::to_db_time(now))
                .bind(user_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn create_code(
                &self,
                code: &tessera_core::authorize::AuthorizationCode,
            ) -> Result<(), $crate::StoreError> {
                $crate::rows::CodeRow::from_code(code)
                    .bind(sqlx::query(
                        "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri,
                         redirect_uri_given, scope, code_challenge, code_challenge_method, nonce, auth_time,
                         expires_at, resources, dpop_jkt)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    ))
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn consume_code(
                &self,
                code_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
                will_issue: &$crate::IssuedFromCode,
            ) -> Result<Option<tessera_core::authorize::AuthorizationCode>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::CodeRow>(
                    "UPDATE authorization_codes SET consumed_at = $1, access_token_jti = $3,
                     access_token_expires_at = $4, refresh_family_id = $5
                     WHERE code_hash = $2 AND consumed_at IS NULL
                     RETURNING code_hash, client_id, user_id, redirect_uri, redirect_uri_given, scope,
                     code_challenge, code_challenge_method, nonce, auth_time, expires_at, resources, dpop_jkt",
                )
                .bind($crate::rows::to_db_time(now))
                .bind(code_hash.as_bytes().to_vec())
                .bind(&will_issue.access_token_jti)
                .bind($crate::rows::to_db_time(will_issue.access_token_expires_at))
                .bind(&will_issue.refresh_family_id)
                .fetch_optional(&self.writer)
                .await?
                .map($crate::rows::CodeRow::into_code)
                .transpose()
            }

            async fn save_pushed_request(
                &self,
                pushed: &tessera_core::par::PushedRequest,
                now: tessera_core::UnixTime,
            ) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                let mut tx = self.writer.begin().await?;
                sqlx::query("DELETE FROM pushed_authorization_requests WHERE expires_at <= $1")
                    .bind($crate::rows::to_db_time(now))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO pushed_authorization_requests (request_uri_hash, client_id, params, expires_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(pushed.request_uri_hash.as_bytes().to_vec())
                .bind(&pushed.client_id)
                .bind(&pushed.params)
                .bind($crate::rows::to_db_time(pushed.expires_at))
                .execute(&mut *tx)
                .await
                .on_unique_violation(|| "pushed authorization request already exists".into())?;
                tx.commit().await?;
                Ok(())
            }

            async fn take_pushed_request(
                &self,
                request_uri_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<Option<tessera_core::par::PushedRequest>, $crate::StoreError> {
                let row: Option<(Vec<u8>, String, String, i64)> = sqlx::query_as(
                    "DELETE FROM pushed_authorization_requests WHERE request_uri_hash = $1 AND expires_at > $2
                     RETURNING request_uri_hash, client_id, params, expires_at",
                )
                .bind(request_uri_hash.as_bytes().to_vec())
                .bind($crate::rows::to_db_time(now))
                .fetch_optional(&self.writer)
                .await?;
                let Some((hash, client_id, params, expires_at)) = row else { return Ok(None) };
                Ok(Some(tessera_core::par::PushedRequest {
                    request_uri_hash: tessera_core::secret::SecretHash::from_bytes(&hash)
                        .ok_or_else(|| $crate::StoreError::Corrupt("request_uri hash length".into()))?,
                    client_id,
                    params,
                    expires_at: $crate::rows::from_db_time(expires_at),
                }))
            }

            async fn record_jti_once(
                &self,
                key: &tessera_core::secret::SecretHash,
                expires_at: tessera_core::UnixTime,
                now: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                // Pruning, on about one call in sixteen, deletes up to 256 expired
                // records: more than the one each call adds. It is best effort (a
                // record it misses is still treated as expired below), so its
                // error is not the caller's.
                if key.as_bytes()[0] % 16 == 0 {
                    let _ = sqlx::query(
                        "DELETE FROM seen_jtis WHERE hash IN
                         (SELECT hash FROM seen_jtis WHERE expires_at <= $1 LIMIT 256)",
                    )
                    .bind($crate::rows::to_db_time(now))
                    .execute(&self.writer)
                    .await;
                }
                let recorded = sqlx::query(
                    "INSERT INTO seen_jtis (hash, expires_at) VALUES ($1, $2)
                     ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE seen_jtis.expires_at <= $3",
                )
                .bind(key.as_bytes().to_vec())
                .bind($crate::rows::to_db_time(expires_at))
                .bind($crate::rows::to_db_time(now))
                .execute(&self.writer)
                .await?;
                Ok(recorded.rows_affected() == 1)
            }

            async fn mark_code_replayed(
                &self,
                code_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<Option<$crate::IssuedFromCode>, $crate::StoreError> {
                let row: Option<(Option<String>, Option<i64>, Option<String>)> = sqlx::query_as(
                    "UPDATE authorization_codes SET replayed_at = COALESCE(replayed_at, $1)
                     WHERE code_hash = $2 AND consumed_at IS NOT NULL
                     RETURNING access_token_jti, access_token_expires_at, refresh_family_id",
                )
                .bind($crate::rows::to_db_time(now))
                .bind(code_hash.as_bytes().to_vec())
                .fetch_optional(&self.writer)
                .await?;
                Ok(match row {
                    Some((Some(access_token_jti), Some(expires_at), refresh_family_id)) => Some($crate::IssuedFromCode {
                        access_token_jti,
                        access_token_expires_at: $crate::rows::from_db_time(expires_at),
                        refresh_family_id,
                    }),
                    _ => None,
                })
            }

            async fn create_refresh_token_from_code(
                &self,
                record: &tessera_core::grant::refresh::RefreshTokenRecord,
                code_hash: &tessera_core::secret::SecretHash,
            ) -> Result<bool, $crate::StoreError> {
                // Revoked from birth when the code was replayed: the replay's
                // revocation of the family came before the family existed.
                let inserted = sqlx::query(concat!(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
                     created_at, expires_at, revoked_at, dpop_jkt, resources)
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, replayed_at, $10, $11 FROM authorization_codes
                     WHERE code_hash = $9",
                    $lock_row
                ))
                .bind(record.token_hash.as_bytes().to_vec())
                .bind(&record.family_id)
                .bind(&record.client_id)
                .bind(&record.user_id)
                .bind(record.scope.to_string())
                .bind($crate::rows::to_db_time(record.auth_time))
                .bind($crate::rows::to_db_time(record.created_at))
                .bind($crate::rows::to_db_time(record.expires_at))
                .bind(code_hash.as_bytes().to_vec())
                .bind(record.dpop_jkt.as_deref())
                .bind($crate::rows::resources_column(&record.resources))
                .execute(&self.writer)
                .await?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn create_refresh_token(
                &self,
                record: &tessera_core::grant::refresh::RefreshTokenRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, auth_time,
                     created_at, expires_at, dpop_jkt, resources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(record.token_hash.as_bytes().to_vec())
                .bind(&record.family_id)
                .bind(&record.client_id)
                .bind(&record.user_id)
                .bind(record.scope.to_string())
                .bind($crate::rows::to_db_time(record.auth_time))
                .bind($crate::rows::to_db_time(record.created_at))
                .bind($crate::rows::to_db_time(record.expires_at))
                .bind(record.dpop_jkt.as_deref())
                .bind($crate::rows::resources_column(&record.resources))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn rotate_refresh_token(
                &self,
                presented: &tessera_core::secret::SecretHash,
                successor_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<$crate::RefreshRotation, $crate::StoreError> {
                if let Some(successor) = self.rotate_live_refresh_token(presented, successor_hash, now).await? {
                    return Ok($crate::RefreshRotation::Rotated(successor));
                }
                Ok(match self.find_refresh_token(presented).await? {
                    None => $crate::RefreshRotation::Unknown,
                    Some(state) if state.revoked_at.is_some() => $crate::RefreshRotation::Revoked(state.record),
                    Some($crate::RefreshTokenState { record, rotated_at: Some(rotated_at), .. }) => {
                        $crate::RefreshRotation::AlreadyRotated { record, rotated_at }
                    }
                    Some(state) => {
                        return Err($crate::StoreError::Corrupt(format!(
                            "refresh token of family {} neither rotated nor revoked after a failed rotation",
                            state.record.family_id
                        )));
                    }
                })
            }

            async fn find_refresh_token(
                &self,
                token_hash: &tessera_core::secret::SecretHash,
            ) -> Result<Option<$crate::RefreshTokenState>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::FoundRefreshRow>(
                    "SELECT r.token_hash, r.family_id, r.client_id, r.user_id, r.scope, r.auth_time, r.created_at,
                     r.expires_at, r.rotated_at, r.revoked_at, r.dpop_jkt, r.resources, u.disabled AS user_disabled
                     FROM refresh_tokens r JOIN users u ON u.user_id = r.user_id WHERE r.token_hash = $1",
                )
                .bind(token_hash.as_bytes().to_vec())
                .fetch_optional(&self.pool)
                .await?
                .map($crate::rows::FoundRefreshRow::into_state)
                .transpose()
            }

            async fn revoke_client_refresh_tokens(
                &self,
                client_id: &str,
                now: tessera_core::UnixTime,
            ) -> Result<u64, $crate::StoreError> {
                let revoked = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL",
                )
                .bind($crate::rows::to_db_time(now))
                .bind(client_id)
                .execute(&self.writer)
                .await?;
                Ok(revoked.rows_affected())
            }

            async fn revoke_refresh_family(
                &self,
                family_id: &str,
                now: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                let revoked = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
                )
                .bind($crate::rows::to_db_time(now))
                .bind(family_id)
                .execute(&self.writer)
                .await?;
                Ok(revoked.rows_affected() > 0)
            }

            async fn server_secret(
                &self,
                name: &str,
                candidate: &[u8],
                now: tessera_core::UnixTime,
            ) -> Result<Vec<u8>, $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(name)
                .bind(candidate.to_vec())
                .bind($crate::rows::to_db_time(now))
                .execute(&self.writer)
                .await?;
                Ok(sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.writer)
                    .await?)
            }

            async fn create_key_if_absent(
                &self,
                key: &$crate::SigningKeyRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, state, private_key, created_at, activated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&key.kid)
                .bind(key.algorithm.as_str())
                .bind(key.state.as_str())
                .bind(&key.private_key_der)
                .bind($crate::rows::to_db_time(key.created_at))
                .bind(key.activated_at.map($crate::rows::to_db_time))
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn find_current_key(
                &self,
                algorithm: tessera_core::jwt::Algorithm,
            ) -> Result<Option<$crate::SigningKeyRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::KeyRow>(concat!(
                    $crate::sql_store::KEY_SELECT!(),
                    " WHERE algorithm = $1 AND state = 'current'"
                ))
                .bind(algorithm.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map($crate::rows::KeyRow::into_record)
                .transpose()
            }

            async fn list_published_keys(&self) -> Result<Vec<$crate::SigningKeyRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::KeyRow>(concat!(
                    $crate::sql_store::KEY_SELECT!(),
                    " ORDER BY created_at, kid"
                ))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map($crate::rows::KeyRow::into_record)
                .collect()
            }

            async fn rotate_signing_key(
                &self,
                expected_current: &str,
                successor: &$crate::SigningKeyRecord,
                now: tessera_core::UnixTime,
                prune_before: tessera_core::UnixTime,
            ) -> Result<bool, $crate::StoreError> {
                let now = $crate::rows::to_db_time(now);
                let algorithm = successor.algorithm.as_str();
                let mut tx = self.writer.begin().await?;
                // Conditional on the kid the caller saw: two rotations started
                // together must not both rotate (one would skip a key).
                let retired = sqlx::query(
                    "UPDATE signing_keys SET state = 'retired', retired_at = $1
                     WHERE algorithm = $2 AND state = 'current' AND kid = $3",
                )
                .bind(now)
                .bind(algorithm)
                .bind(expected_current)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if retired == 0 {
                    return Ok(false);
                }
                let promoted = sqlx::query(
                    "UPDATE signing_keys SET state = 'current', activated_at = $1
                     WHERE algorithm = $2 AND state = 'next'",
                )
                .bind(now)
                .bind(algorithm)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if promoted == 0 {
                    return Err($crate::StoreError::Conflict(format!(
                        "there is no next {algorithm} key to promote"
                    )));
                }
                sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, state, private_key, created_at)
                     VALUES ($1, $2, 'next', $3, $4)",
                )
                .bind(&successor.kid)
                .bind(algorithm)
                .bind(&successor.private_key_der)
                .bind($crate::rows::to_db_time(successor.created_at))
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM signing_keys WHERE state = 'retired' AND retired_at < $1")
                    .bind($crate::rows::to_db_time(prune_before))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn change_generations(&self) -> Result<$crate::Generations, $crate::StoreError> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT topic, generation FROM change_generations")
                        .fetch_all(&self.pool)
                        .await?;
                let mut generations = $crate::Generations::default();
                for (topic, generation) in rows {
                    match topic.as_str() {
                        "clients" => generations.clients = generation,
                        "signing_keys" => generations.signing_keys = generation,
                        "revocations" => generations.revocations = generation,
                        "scopes" => generations.scopes = generation,
                        _ => {}
                    }
                }
                Ok(generations)
            }

            async fn change_signals(
                &self,
            ) -> Result<Option<Box<dyn $crate::ChangeSignals>>, $crate::StoreError> {
                self.listen_for_changes().await
            }

            async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, $crate::StoreError> {
                Ok(sqlx::query_as(
                    "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn search_clients(
                &self,
                query: &$crate::ClientQuery,
            ) -> Result<(Vec<tessera_core::client::Client>, u64), $crate::StoreError> {
                let pattern = query.text.as_deref().map($crate::rows::contains_pattern);
                let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) ", $crate::sql_store::CLIENT_SEARCH_FILTER!()))
                    .bind(query.owner.as_deref())
                    .bind(pattern.as_deref())
                    .fetch_one(&self.pool)
                    .await?;
                let ids: Vec<String> = sqlx::query_scalar(concat!(
                    "SELECT client_id ",
                    $crate::sql_store::CLIENT_SEARCH_FILTER!(),
                    " ORDER BY created_at DESC, client_id LIMIT $3 OFFSET $4"
                ))
                .bind(query.owner.as_deref())
                .bind(pattern.as_deref())
                .bind(i64::from(query.limit))
                .bind(i64::from(query.offset))
                .fetch_all(&self.pool)
                .await?;
                let mut clients = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(client) = self.find_client(&id).await? {
                        clients.push(client);
                    }
                }
                Ok((clients, u64::try_from(total).unwrap_or(0)))
            }

            async fn create_admin_token(&self, token: &$crate::AdminTokenRecord) -> Result<(), $crate::StoreError> {
                use $crate::error::OnConstraint;
                sqlx::query(
                    "INSERT INTO admin_api_tokens (token_id, token_hash, user_id, name, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&token.token_id)
                .bind(token.token_hash.as_bytes().to_vec())
                .bind(&token.user_id)
                .bind(&token.name)
                .bind($crate::rows::to_db_time(token.created_at))
                .bind(token.expires_at.map($crate::rows::to_db_time))
                .execute(&self.writer)
                .await
                .on_unique_violation(|| "admin token already exists".into())?;
                Ok(())
            }

            async fn use_admin_token(
                &self,
                token_hash: &tessera_core::secret::SecretHash,
                now: tessera_core::UnixTime,
            ) -> Result<Option<$crate::AdminTokenRecord>, $crate::StoreError> {
                let now = $crate::rows::to_db_time(now);
                let row = sqlx::query_as::<_, $crate::rows::AdminTokenRow>(concat!(
                    $crate::sql_store::ADMIN_TOKEN_SELECT!(),
                    " WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
                ))
                .bind(token_hash.as_bytes().to_vec())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                // Once a minute is precise enough, and spares a write per request.
                if row.last_used_at.is_none_or(|last| last < now - 60) {
                    sqlx::query("UPDATE admin_api_tokens SET last_used_at = $1 WHERE token_id = $2")
                        .bind(now)
                        .bind(&row.token_id)
                        .execute(&self.writer)
                        .await?;
                }
                row.into_record().map(Some)
            }

            async fn list_admin_tokens(
                &self,
                user_id: Option<&str>,
            ) -> Result<Vec<$crate::AdminTokenRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::AdminTokenRow>(concat!(
                    $crate::sql_store::ADMIN_TOKEN_SELECT!(),
                    " WHERE CAST($1 AS TEXT) IS NULL OR user_id = $1 ORDER BY created_at DESC, token_id"
                ))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map($crate::rows::AdminTokenRow::into_record)
                .collect()
            }

            async fn delete_admin_token(
                &self,
                token_id: &str,
                user_id: Option<&str>,
            ) -> Result<bool, $crate::StoreError> {
                let deleted = sqlx::query(
                    "DELETE FROM admin_api_tokens WHERE token_id = $1 AND (CAST($2 AS TEXT) IS NULL OR user_id = $2)",
                )
                .bind(token_id)
                .bind(user_id)
                .execute(&self.writer)
                .await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn record_audit_events(&self, events: &[$crate::AuditEvent]) -> Result<(), $crate::StoreError> {
                // One statement per few hundred rows: the trail keeps up with
                // tens of thousands of grants a second on either backend.
                const ROWS_PER_STATEMENT: usize = 500;
                let mut tx = self.writer.begin().await?;
                for chunk in events.chunks(ROWS_PER_STATEMENT) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO audit_events (at, actor, action, target, outcome, ip, details) ",
                    );
                    insert.push_values(chunk, |mut row, event| {
                        row.push_bind($crate::rows::to_db_time(event.at))
                            .push_bind(event.actor.as_str())
                            .push_bind(event.action.as_str())
                            .push_bind(event.target.as_deref())
                            .push_bind(event.outcome.as_str())
                            .push_bind(event.ip.as_deref())
                            .push_bind(event.details.as_str());
                    });
                    insert.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn search_audit_events(
                &self,
                query: &$crate::AuditQuery,
            ) -> Result<Vec<$crate::AuditEvent>, $crate::StoreError> {
                // `client.` matches every client action; anything else is exact.
                let action_pattern = query.action.as_deref().map(|action| match action.strip_suffix('.') {
                    Some(prefix) => format!("{}.%", $crate::rows::escape_like(prefix)),
                    None => $crate::rows::escape_like(action),
                });
                sqlx::query_as::<_, $crate::rows::AuditRow>(
                    "SELECT event_id, at, actor, action, target, outcome, ip, details FROM audit_events
                     WHERE (CAST($1 AS TEXT) IS NULL OR action LIKE $1 ESCAPE '\\')
                       AND (CAST($2 AS TEXT) IS NULL OR actor = $2)
                       AND (CAST($3 AS TEXT) IS NULL OR target = $3)
                       AND (CAST($4 AS BIGINT) IS NULL OR event_id < $4)
                     ORDER BY event_id DESC LIMIT $5",
                )
                .bind(action_pattern)
                .bind(query.actor.as_deref())
                .bind(query.target.as_deref())
                .bind(query.before_id)
                .bind(i64::from(query.limit))
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map($crate::rows::AuditRow::into_event)
                .collect()
            }

            async fn count_live_refresh_families(&self, now: tessera_core::UnixTime) -> Result<u64, $crate::StoreError> {
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
                )
                .bind($crate::rows::to_db_time(now))
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(live).unwrap_or(0))
            }

            async fn prune_audit_events(&self, before: tessera_core::UnixTime) -> Result<u64, $crate::StoreError> {
                let pruned = sqlx::query("DELETE FROM audit_events WHERE at < $1")
                    .bind($crate::rows::to_db_time(before))
                    .execute(&self.writer)
                    .await?;
                Ok(pruned.rows_affected())
            }
        }

        async fn insert_client_scopes(
            tx: &mut sqlx::Transaction<'_, $db>,
            client: &tessera_core::client::Client,
        ) -> Result<(), $crate::StoreError> {
            for scope in client.scopes.iter() {
                sqlx::query("INSERT INTO client_scopes (client_id, scope, is_default) VALUES ($1, $2, $3)")
                    .bind(&client.client_id)
                    .bind(scope.as_str())
                    .bind(client.default_scopes.contains(scope.as_str()))
                    .execute(&mut **tx)
                    .await
                    .map_err(|err| match &err {
                        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                            $crate::rows::scope_not_registered(scope)
                        }
                        _ => $crate::StoreError::Database(err),
                    })?;
            }
            Ok(())
        }
    };
}

/// The columns of a `KeyRow`, shared by every key query.
macro_rules! key_select {
    () => {
        "SELECT kid, algorithm, state, private_key, created_at, activated_at, retired_at FROM signing_keys"
    };
}

/// The columns of a `UserRow`, shared by every user query.
macro_rules! user_select {
    () => {
        "SELECT username, email, email_verified, name, password_hash, disabled, role, created_at, user_id FROM users"
    };
}

/// The columns of an `AdminTokenRow`.
macro_rules! admin_token_select {
    () => {
        "SELECT token_id, token_hash, user_id, name, created_at, expires_at, last_used_at FROM admin_api_tokens"
    };
}

/// The clients `search_clients` counts and lists: `$1` an owner, `$2` a LIKE
/// pattern, either NULL for any.
macro_rules! client_search_filter {
    () => {
        "FROM clients WHERE (CAST($1 AS TEXT) IS NULL OR owner_user_id = $1)
         AND (CAST($2 AS TEXT) IS NULL OR lower(name) LIKE $2 ESCAPE '\\' OR lower(client_id) LIKE $2 ESCAPE '\\')"
    };
}

pub(crate) use admin_token_select as ADMIN_TOKEN_SELECT;
pub(crate) use client_search_filter as CLIENT_SEARCH_FILTER;
pub(crate) use key_select as KEY_SELECT;
pub(crate) use sql_store;
pub(crate) use user_select as USER_SELECT;
