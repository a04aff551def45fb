//! The one implementation of [`Store`](crate::Store) in SQL, instantiated for
//! every backend by [`sql_store!`]. The statements use `$N` placeholders, which
//! PostgreSQL and SQLite (through sqlx) both accept, so the SQL is written once;
//! only the migrations, in `migrations/<backend>`, differ.

/// Implements `Store` for `$store`, a struct with a `pool: sqlx::Pool<$db>` field.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::Store for $store {
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
                    .execute(&self.pool)
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
                let mut tx = self.pool.begin().await?;
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
                let mut tx = self.pool.begin().await?;
                $crate::rows::ClientRow::from_client(client)
                    .bind(sqlx::query(
                        "INSERT INTO clients (name, org_url, secret_hash, redirect_uris, grant_types, resources,
                         created_at, previous_secret_hash, previous_secret_expires_at, token_endpoint_auth_method,
                         disabled, may_introspect_any_token, registration_token_hash, client_id)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
                     disabled, may_introspect_any_token, registration_token_hash, client_id
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
                let mut tx = self.pool.begin().await?;
                let updated = $crate::rows::ClientRow::from_client(client)
                    .bind(sqlx::query(
                        "UPDATE clients SET name = $1, org_url = $2, secret_hash = $3, redirect_uris = $4,
                         grant_types = $5, resources = $6, created_at = $7, previous_secret_hash = $8,
                         previous_secret_expires_at = $9, token_endpoint_auth_method = $10, disabled = $11,
                         may_introspect_any_token = $12, registration_token_hash = $13
                         WHERE client_id = $14",
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
                    .execute(&self.pool)
                    .await?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn revoke_access_token(
                &self,
                jti: &str,
                expires_at: tessera_core::UnixTime,
                now: tessera_core::UnixTime,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.pool.begin().await?;
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
                .execute(&self.pool)
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
                         created_at, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    ))
                    .execute(&self.pool)
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
                         password_hash = $5, disabled = $6, created_at = $7 WHERE user_id = $8",
                    ))
                    .execute(&self.pool)
                    .await
                    .on_unique_violation(|| format!("user `{}` already exists", user.username))?;
                Ok(updated.rows_affected() > 0)
            }

            async fn create_current_key_if_absent(
                &self,
                key: &$crate::SigningKeyRecord,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, state, private_key, created_at)
                     VALUES ($1, $2, 'current', $3, $4)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&key.kid)
                .bind(key.algorithm.as_str())
                .bind(&key.private_key_der)
                .bind($crate::rows::to_db_time(key.created_at))
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn find_current_key(
                &self,
                algorithm: tessera_core::jwt::Algorithm,
            ) -> Result<Option<$crate::SigningKeyRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::KeyRow>(
                    "SELECT kid, algorithm, state, private_key, created_at FROM signing_keys
                     WHERE algorithm = $1 AND state = 'current'",
                )
                .bind(algorithm.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map($crate::rows::KeyRow::into_record)
                .transpose()
            }

            async fn list_published_keys(&self) -> Result<Vec<$crate::SigningKeyRecord>, $crate::StoreError> {
                sqlx::query_as::<_, $crate::rows::KeyRow>(
                    "SELECT kid, algorithm, state, private_key, created_at FROM signing_keys
                     ORDER BY created_at, kid",
                )
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map($crate::rows::KeyRow::into_record)
                .collect()
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

/// The columns of a `UserRow`, shared by every user query.
macro_rules! user_select {
    () => {
        "SELECT username, email, email_verified, name, password_hash, disabled, created_at, user_id FROM users"
    };
}

pub(crate) use sql_store;
pub(crate) use user_select as USER_SELECT;
