//! One function per command: resolve configuration, call the server crate, print.

use anyhow::{Context, Result, bail};
use serde_json::json;
use tessera_core::registration::ClientRegistration;
use tessera_core::user::Role;
use tessera_server::admin::bootstrap::{Bootstrap, create_admin, ensure_first_admin};
use tessera_server::admin::service::create_token_for;
use tessera_server::config::{Config, Overrides, RawConfig};
use tessera_server::registry::{self, ClientView};
use tessera_server::users;
use tessera_server::{Server, open_store, unix_now};
use tessera_store::{AuditQuery, Store};

use crate::cli::{
    AdminCommand, AdminTokenCommand, AuditCommand, Cli, ClientCommand, Command, ConfigCommand,
    CreateClientArgs, KeysCommand, LogFormat, Output, PkcePolicy, RegistrationTokenCommand, ScopeCommand,
    UserCommand,
};
use crate::logging::init_logging;

pub(crate) fn run(cli: Cli) -> Result<()> {
    if let Command::Proxy(args) = &cli.command {
        // The proxy reads a routes file, not the server's configuration.
        let Some(routes) = cli.config.as_deref() else {
            bail!(
                "`tessera proxy` needs --config ROUTES.toml: the issuer and which routes need which scopes"
            );
        };
        let config = tessera_guard::proxy::ProxyConfig::load(routes, &args.upstream)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        return runtime.block_on(proxy(config, &args.listen, cli.log_format));
    }
    if let Command::Completions { shell } = &cli.command {
        let mut script = Vec::new();
        clap_complete::generate(
            *shell,
            &mut <Cli as clap::CommandFactory>::command(),
            "tessera",
            &mut script,
        );
        // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
        return Ok(());
    }
    let mut overrides = Overrides { data_dir: cli.data_dir.clone(), ..Overrides::default() };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen.clone();
        overrides.issuer = args.issuer.clone();
    }
    for (name, closest) in tessera_server::config::unexpected_env_vars() {
        let hint = closest.map(|known| format!(" (did you mean {known}?)")).unwrap_or_default();
        eprintln!("warning: environment variable {name} is not a Tessera setting and is ignored{hint}");
    }
    if let Command::Config(ConfigCommand::Check { output }) = &cli.command {
        return config_check(cli.config.as_deref(), &overrides, *output);
    }
    let config = Config::load(cli.config.as_deref(), &overrides).context("invalid configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let audit_entry = crate::audit_trail::entry_for(&cli.command);
    runtime.block_on(async move {
        let outcome = match cli.command {
            Command::Serve(_) => serve(config.clone(), cli.log_format).await,
            Command::Proxy(_) | Command::Config(_) | Command::Completions { .. } => {
                unreachable!("handled before the configuration is loaded")
            }
            Command::Client(command) => client(&config, command).await,
            Command::Scope(command) => scope(&config, command).await,
            Command::RegistrationToken(command) => registration_token(&config, command).await,
            Command::User(command) => user(&config, command).await,
            Command::Admin(command) => admin(&config, command).await,
            Command::Audit(command) => audit(&config, command).await,
            Command::Keys(command) => keys(&config, command).await,
            Command::Migrate { output } => migrate(&config, output).await,
        };
        if let (Ok(()), Some(entry)) = (&outcome, audit_entry) {
            let store = open_store(&config).await?;
            store
                .record_audit_events(&[entry.stamp(unix_now())])
                .await
                .context("the command succeeded, but its audit record could not be written")?;
        }
        outcome
    })
}

async fn serve(config: Config, log_format: LogFormat) -> Result<()> {
    let _flush_logs_on_exit = init_logging(log_format)?;
    let database = config.database.describe();
    let server = Server::start(config).await?;
    bootstrap_admin_from_env(&server).await?;
    let issuer = server.issuer().to_owned();
    println!("Tessera is listening on {}", server.local_addr());
    println!("  issuer:    {issuer}");
    println!("  discovery: {issuer}/.well-known/openid-configuration");
    println!("  database:  {database}");
    println!();
    println!("Next, from another terminal: add a scope and register an application:");
    println!("  tessera scope add contact.read --description \"Read your contacts\"");
    println!("  tessera client create --name \"My app\" --scope contact.read");
    server.run(shutdown_signal()).await?;
    Ok(())
}

/// `TESSERA_ADMIN_USERNAME` and `TESSERA_ADMIN_PASSWORD` create the first
/// administrator, and are ignored once one exists.
async fn bootstrap_admin_from_env(server: &Server) -> Result<()> {
    let username = std::env::var("TESSERA_ADMIN_USERNAME").ok().filter(|name| !name.is_empty());
    let password = std::env::var("TESSERA_ADMIN_PASSWORD").ok().filter(|password| !password.is_empty());
    let (username, password) = match (username, password) {
        (Some(username), Some(password)) => (username, password),
        (None, None) => return Ok(()),
        _ => bail!("set both TESSERA_ADMIN_USERNAME and TESSERA_ADMIN_PASSWORD, or neither"),
    };
    let state = server.state();
    match ensure_first_admin(state.store(), &username, password)
        .await
        .context("cannot create the first administrator from TESSERA_ADMIN_USERNAME")?
    {
        Bootstrap::Created => println!("created the first administrator, {username}"),
        Bootstrap::AlreadyHasAdmin => {
            println!("an administrator exists; TESSERA_ADMIN_USERNAME and TESSERA_ADMIN_PASSWORD are ignored")
        }
    }
    Ok(())
}

async fn admin(config: &Config, command: AdminCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        AdminCommand::Create { username, password_stdin: _ } => {
            let password = read_password()?;
            let user = create_admin(store.as_ref(), &username, password).await.with_context(|| {
                format!("cannot create administrator `{username}` (to promote an existing user: tessera user role {username} admin)")
            })?;
            println!("created administrator {} (id {})", user.username, user.user_id);
            println!(
                "Sign in at <issuer>/admin, or create an API token: tessera admin token create --user {} --name NAME",
                user.username
            );
        }
        AdminCommand::Token(AdminTokenCommand::Create { user, name, expires_in, output }) => {
            let Some(holder) = store.find_user_by_username(&user).await? else {
                bail!("no user named `{user}` (list them with `tessera user list`)");
            };
            let created = create_token_for(store.as_ref(), &holder, &name, expires_in).await?;
            match output {
                Output::Json => println!(
                    "{}",
                    json!({ "token": created.token, "token_id": created.record.token_id, "expires_at": created.record.expires_at })
                ),
                Output::Text => println!("{}", created.token),
            }
        }
        AdminCommand::Token(AdminTokenCommand::List { output }) => {
            let tokens = store.list_admin_tokens(None).await?;
            let users = store.list_users().await?;
            let username = |user_id: &str| {
                users.iter().find(|user| user.user_id == user_id).map_or("?", |user| user.username.as_str())
            };
            match output {
                Output::Json => {
                    let list: Vec<_> = tokens
                        .iter()
                        .map(|token| {
                            json!({
                                "token_id": token.token_id, "name": token.name, "user": username(&token.user_id),
                                "created_at": token.created_at, "expires_at": token.expires_at,
                                "last_used_at": token.last_used_at,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::Value::Array(list));
                }
                Output::Text => {
                    for token in &tokens {
                        println!("{}  {}  user={}", token.token_id, token.name, username(&token.user_id));
                    }
                }
            }
        }
        AdminCommand::Token(AdminTokenCommand::Revoke { token_id }) => {
            if !store.delete_admin_token(&token_id, None).await? {
                bail!("no admin API token with id `{token_id}` (list them with `tessera admin token list`)");
            }
            println!("revoked admin API token {token_id}");
        }
    }
    Ok(())
}

/// `tessera config check`: the whole configuration is checked exactly as
/// `serve` checks it, then printed with its secrets masked.
fn config_check(file: Option<&std::path::Path>, overrides: &Overrides, output: Output) -> Result<()> {
    let raw = RawConfig::load(file, overrides).context("invalid configuration")?;
    Config::resolve(raw.clone()).context("invalid configuration")?;
    let shown = raw.masked();
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&shown)?),
        Output::Text => {
            println!(
                "# configuration OK{}",
                file.map(|file| format!(": {}", file.display())).unwrap_or_default()
            );
            print!("{}", toml::to_string(&shown).context("cannot print the settings")?);
        }
    }
    Ok(())
}

async fn audit(config: &Config, command: AuditCommand) -> Result<()> {
    let store = open_store(config).await?;
    let (query, output, oldest_first) = match command {
        AuditCommand::Tail { lines, output } => {
            (AuditQuery { limit: lines, ..AuditQuery::default() }, output, true)
        }
        AuditCommand::Search { action, actor, target, limit, output } => {
            (AuditQuery { action, actor, target, limit, before_id: None }, output, false)
        }
    };
    let mut events = store.search_audit_events(&query).await?;
    if oldest_first {
        events.reverse();
    }
    for event in &events {
        match output {
            Output::Json => {
                let details: serde_json::Value = serde_json::from_str(&event.details).unwrap_or_default();
                println!(
                    "{}",
                    json!({
                        "event_id": event.event_id, "at": event.at, "actor": event.actor, "action": event.action,
                        "target": event.target, "outcome": event.outcome.as_str(), "ip": event.ip, "details": details,
                    })
                );
            }
            Output::Text => println!(
                "{}  {:<8} {:<22} {}  {}  {}  {}",
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(event.at)
                ),
                event.outcome.as_str(),
                event.action,
                event.actor,
                event.target.as_deref().unwrap_or("-"),
                event.ip.as_deref().unwrap_or("-"),
                event.details,
            ),
        }
    }
    Ok(())
}

async fn proxy(config: tessera_guard::proxy::ProxyConfig, listen: &str, log_format: LogFormat) -> Result<()> {
    let _flush_logs_on_exit = init_logging(log_format)?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    println!("Tessera proxy is listening on {}", listener.local_addr()?);
    println!("  upstream:  {}", config.upstream);
    tessera_guard::proxy::serve_proxy(config, listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn client(config: &Config, command: ClientCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        ClientCommand::Create(args) => create_client(store.as_ref(), *args, config.outbound.allow_http).await,
        ClientCommand::List { output } => {
            let clients = store.list_clients().await?;
            match output {
                Output::Json => {
                    let views: Vec<ClientView> = clients.iter().map(ClientView::from).collect();
                    println!("{}", serde_json::to_string_pretty(&views)?);
                }
                Output::Text => {
                    if clients.is_empty() {
                        println!("no clients; register one with `tessera client create --name NAME`");
                    }
                    for client in &clients {
                        let kind = if client.is_public() { "public" } else { "confidential" };
                        println!(
                            "{}  {}  ({kind}; scopes: {})",
                            client.client_id, client.name, client.scopes
                        );
                    }
                }
            }
            Ok(())
        }
        ClientCommand::Show { client_id, output } => {
            let Some(client) = store.find_client(&client_id).await? else {
                bail!("no client with id `{client_id}` (list them with `tessera client list`)");
            };
            let view = ClientView::from(&client);
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&view)?),
                Output::Text => print_client(&view),
            }
            Ok(())
        }
        ClientCommand::Delete { client_id } => {
            if !store.delete_client(&client_id).await? {
                bail!("no client with id `{client_id}` (list them with `tessera client list`)");
            }
            println!("deleted client {client_id}");
            Ok(())
        }
        ClientCommand::RotateSecret { client_id, grace, output } => {
            let secret = registry::rotate_secret(store.as_ref(), &client_id, grace, unix_now()).await?;
            let grace_text = humantime::format_duration(grace).to_string();
            match output {
                Output::Json => println!(
                    "{}",
                    json!({ "client_id": client_id, "client_secret": secret, "previous_secret_grace": grace_text })
                ),
                Output::Text => {
                    println!("New secret for {client_id}:");
                    println!("  client_secret: {secret}");
                    if grace.is_zero() {
                        println!("The old secret has stopped working.");
                    } else {
                        println!("The old secret keeps working for {grace_text}.");
                    }
                    println!("Save the new secret now: it cannot be shown again.");
                }
            }
            Ok(())
        }
        ClientCommand::Disable { client_id } => {
            registry::set_client_disabled(store.as_ref(), &client_id, true).await?;
            println!("disabled client {client_id}");
            Ok(())
        }
        ClientCommand::Enable { client_id } => {
            registry::set_client_disabled(store.as_ref(), &client_id, false).await?;
            println!("enabled client {client_id}");
            Ok(())
        }
    }
}

async fn user(config: &Config, command: UserCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        UserCommand::Add { username, password_stdin: _, email, email_verified, name } => {
            let password = read_password()?;
            let new = users::NewUser { username, password, email, email_verified, name, role: Role::User };
            let user = users::add_user(store.as_ref(), new, unix_now()).await?;
            println!("added user {} (id {})", user.username, user.user_id);
        }
        UserCommand::List { output } => {
            let users = store.list_users().await?;
            match output {
                Output::Json => {
                    let list: Vec<_> = users
                        .iter()
                        .map(|u| {
                            json!({
                                "user_id": u.user_id, "username": u.username.as_str(), "email": u.email,
                                "email_verified": u.email_verified, "name": u.name, "disabled": u.disabled,
                                "role": u.role.as_str(), "created_at": u.created_at,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
                Output::Text => {
                    for u in &users {
                        let state = if u.disabled { "  (disabled)" } else { "" };
                        println!(
                            "{}  {}  {}  {}{state}",
                            u.user_id,
                            u.username,
                            u.role,
                            u.email.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
        }
        UserCommand::Passwd { username, password_stdin: _ } => {
            users::set_password(store.as_ref(), &username, read_password()?).await?;
            println!("changed the password of {username}");
        }
        UserCommand::Role { username, role } => {
            users::set_user_role(store.as_ref(), &username, Role::parse(&role)?).await?;
            println!("{username} is now {role}");
        }
        UserCommand::Disable { username } => {
            users::set_user_disabled(store.as_ref(), &username, true).await?;
            println!("disabled user {username}");
        }
        UserCommand::Enable { username } => {
            users::set_user_disabled(store.as_ref(), &username, false).await?;
            println!("enabled user {username}");
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}

async fn registration_token(config: &Config, command: RegistrationTokenCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        RegistrationTokenCommand::Create { expires_in, output } => {
            let now = unix_now();
            let token = registry::create_registration_token(store.as_ref(), expires_in, now).await?;
            let expires_at = expires_in.map(|lifetime| now + lifetime.as_secs());
            match output {
                Output::Json => println!("{}", json!({ "token": token, "expires_at": expires_at })),
                Output::Text => {
                    println!("Initial access token for POST /register (shown only once):");
                    println!("  {token}");
                    println!("Send it as `Authorization: Bearer <token>`.");
                }
            }
        }
    }
    Ok(())
}

async fn keys(config: &Config, command: KeysCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        KeysCommand::List { output } => {
            let keys = store.list_published_keys().await?;
            match output {
                Output::Json => {
                    let keys: Vec<_> = keys
                        .iter()
                        .map(|key| {
                            json!({
                                "kid": key.kid,
                                "alg": key.algorithm.as_str(),
                                "state": key.state.as_str(),
                                "created_at": key.created_at,
                                "activated_at": key.activated_at,
                                "retired_at": key.retired_at,
                            })
                        })
                        .collect();
                    println!("{}", json!(keys));
                }
                Output::Text => {
                    for key in &keys {
                        println!("{:<8} {:<6} {}", key.state.as_str(), key.algorithm.as_str(), key.kid);
                    }
                }
            }
        }
        KeysCommand::Rotate { output } => {
            let rotations =
                tessera_server::keys::rotate_keys(store.as_ref(), unix_now(), config.signing_key_retention)
                    .await?;
            if rotations.is_empty() {
                bail!("another process rotated the keys at the same time; nothing was changed");
            }
            match output {
                Output::Json => {
                    let rotations: Vec<_> = rotations
                        .iter()
                        .map(|rotation| {
                            json!({
                                "alg": rotation.algorithm.as_str(),
                                "retired": rotation.retired,
                                "current": rotation.current,
                                "next": rotation.next,
                            })
                        })
                        .collect();
                    println!("{}", json!(rotations));
                }
                Output::Text => {
                    for rotation in &rotations {
                        println!(
                            "{}: {} now signs; {} retired; {} published as next",
                            rotation.algorithm.as_str(),
                            rotation.current,
                            rotation.retired,
                            rotation.next
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

async fn migrate(config: &Config, output: Output) -> Result<()> {
    // Opening a store applies what is pending, under the backend's migration lock.
    let store = open_store(config).await?;
    let applied = store.applied_migrations().await?;
    match output {
        Output::Json => {
            let applied: Vec<_> = applied
                .iter()
                .map(|(version, description)| json!({ "version": version, "description": description }))
                .collect();
            println!("{}", json!({ "database": config.database.describe(), "applied": applied }));
        }
        Output::Text => {
            println!("{} is up to date; applied migrations:", config.database.describe());
            for (version, description) in &applied {
                println!("  {version:04} {description}");
            }
        }
    }
    Ok(())
}

async fn create_client(store: &dyn Store, args: CreateClientArgs, allow_http_jwks_uri: bool) -> Result<()> {
    let jwks = match &args.jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the JWK Set {}", path.display()))?;
            Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .with_context(|| format!("{} is not JSON", path.display()))?,
            )
        }
        None => None,
    };
    let registration = ClientRegistration {
        name: args.name,
        org_url: args.org_url,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grant_types,
        scopes: args.scopes,
        default_scopes: (!args.default_scopes.is_empty()).then_some(args.default_scopes),
        resources: args.resources,
        public: args.public,
        token_endpoint_auth_method: (jwks.is_some() || args.jwks_uri.is_some())
            .then(|| "private_key_jwt".to_owned()),
        may_introspect_any_token: args.introspect_any_token,
        pkce_optional: args.pkce == PkcePolicy::Optional,
        access_token_lifetime: args.access_token_lifetime.map(|lifetime| lifetime.as_secs()),
        jwks,
        jwks_uri: args.jwks_uri,
        allow_http_jwks_uri,
        dpop_bound_access_tokens: args.dpop_bound_access_tokens,
        require_pushed_authorization_requests: args.require_pushed_authorization_requests,
    };
    let created = registry::create_client(store, registration, unix_now()).await?;
    let view = ClientView::from(&created.client);
    match args.output {
        Output::Json => {
            let mut value = serde_json::to_value(&view)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("client_secret".into(), json!(created.client_secret));
            }
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Output::Text => {
            println!("Registered \"{}\".", view.name);
            println!("  client_id:     {}", view.client_id);
            match &created.client_secret {
                Some(secret) => {
                    println!("  client_secret: {secret}");
                    println!();
                    println!(
                        "Save the client secret now: only its hash is stored, and it cannot be shown again."
                    );
                }
                None if !view.public => {
                    println!("  (private_key_jwt: it authenticates with its keys, no secret)")
                }
                None => println!("  (public client: no secret; it must use PKCE)"),
            }
            println!("  grant types:   {}", view.grant_types.join(" "));
            println!("  scopes:        {}", view.scopes.join(" "));
        }
    }
    Ok(())
}

fn print_client(view: &ClientView) {
    let list = |items: &[String]| if items.is_empty() { "-".to_owned() } else { items.join(" ") };
    println!("client_id:      {}", view.client_id);
    println!("name:           {}", view.name);
    println!("org_url:        {}", view.org_url.as_deref().unwrap_or("-"));
    println!("type:           {}", if view.public { "public" } else { "confidential" });
    println!("redirect_uris:  {}", list(&view.redirect_uris));
    println!("grant_types:    {}", list(&view.grant_types));
    println!("scopes:         {}", list(&view.scopes));
    println!("default_scopes: {}", list(&view.default_scopes));
    println!("resources:      {}", list(&view.resources));
    let required = |yes: bool| if yes { "required" } else { "optional" };
    println!("dpop:           {}", required(view.dpop_bound_access_tokens));
    println!("par:            {}", required(view.require_pushed_authorization_requests));
    println!("created_at:     {}", view.created_at);
}

async fn scope(config: &Config, command: ScopeCommand) -> Result<()> {
    let store = open_store(config).await?;
    match command {
        ScopeCommand::Add { name, description } => {
            let record = registry::create_scope(store.as_ref(), &name, &description, unix_now()).await?;
            println!("added scope {}", record.name);
        }
        ScopeCommand::List { output } => {
            let scopes = store.list_scopes().await?;
            match output {
                Output::Json => {
                    let list: Vec<_> = scopes
                        .iter()
                        .map(|s| json!({ "name": s.name.as_str(), "description": s.description }))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                }
                Output::Text => {
                    for s in &scopes {
                        println!("{}  {}", s.name, s.description);
                    }
                }
            }
        }
        ScopeCommand::Delete { name } => {
            if !store.delete_scope(&name).await? {
                bail!("no scope named `{name}`");
            }
            println!("deleted scope {name}");
        }
    }
    Ok(())
}
