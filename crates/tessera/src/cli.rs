//! The command-line contract. Scripts rely on it: extend it, never break it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "A self-hosted OAuth 2.1 / OpenID Connect authorization server",
    after_help = "Examples:
  tessera serve                                    # http://127.0.0.1:8080, data in ./tessera-data
  tessera scope add contact.read --description \"Read your contacts\"
  tessera client create --name \"My app\" --scope contact.read --output json
  printf '%s\\n' \"$PW\" | tessera admin create alice --password-stdin
  tessera --config tessera.toml config check
  tessera audit tail -n 50"
)]
pub(crate) struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Directory of the SQLite database [default: ./tessera-data; env: TESSERA_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Log lines of `serve` and `proxy`: for people, or one JSON object per line.
    #[arg(long, global = true, value_enum, env = "TESSERA_LOG_FORMAT", default_value_t)]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the authorization server.
    #[command(after_help = "Examples:
  tessera serve
  tessera serve --listen 0.0.0.0:8443 --issuer https://auth.example.com --config tessera.toml
  TESSERA_DATABASE_URL=postgres://tessera@db/tessera tessera --log-format json serve")]
    Serve(ServeArgs),
    /// Put an HTTP API behind Tessera: check each request's Bearer token and the
    /// scopes its route needs, then forward it with the caller's identity in
    /// `X-Tessera-*` headers. `--config` names the routes file (see README).
    #[command(after_help = "Examples:
  tessera proxy --config routes.toml --upstream http://127.0.0.1:3000 --listen 0.0.0.0:8081")]
    Proxy(ProxyArgs),
    /// Manage registered client applications.
    #[command(
        subcommand,
        after_help = "Examples:
  tessera client create --name \"Payroll\" --scope contact.read --redirect-uri https://app.example.com/cb
  tessera client list --output json
  tessera client rotate-secret CLIENT_ID --grace 24h
  tessera client disable CLIENT_ID"
    )]
    Client(ClientCommand),
    /// Manage the scope registry.
    #[command(
        subcommand,
        after_help = "Examples:
  tessera scope add contact.read --description \"Read your contacts\"
  tessera scope list --output json
  tessera scope delete contact.read     # refused while a client holds it"
    )]
    Scope(ScopeCommand),
    /// Manage end users who log in at the authorization server.
    #[command(
        subcommand,
        after_help = "Examples:
  printf '%s\\n' \"$PW\" | tessera user add alice --password-stdin --email alice@example.com
  tessera user role alice developer
  tessera user disable alice"
    )]
    User(UserCommand),
    /// Administrators of the console (/admin) and their admin API tokens.
    #[command(
        subcommand,
        after_help = "Examples:
  printf '%s\\n' \"$PW\" | tessera admin create alice --password-stdin
  tessera admin token create --user alice --name ci --expires-in 90d
  tessera admin token list --output json
  tessera admin token revoke TOKEN_ID"
    )]
    Admin(AdminCommand),
    /// Read the audit trail: grants, refusals, sign-ins, consents and admin changes.
    #[command(
        subcommand,
        after_help = "Examples:
  tessera audit tail -n 50
  tessera audit search --action token.refused --output json
  tessera audit search --action client. --actor user:alice"
    )]
    Audit(AuditCommand),
    /// Manage RFC 7591 initial access tokens for `POST /register`.
    #[command(
        subcommand,
        name = "registration-token",
        after_help = "Examples:
  tessera registration-token create --expires-in 24h --output json"
    )]
    RegistrationToken(RegistrationTokenCommand),
    /// Manage the signing keys (next -> current -> retired).
    #[command(
        subcommand,
        after_help = "Examples:
  tessera keys list --output json
  tessera keys rotate          # running servers pick it up without a restart"
    )]
    Keys(KeysCommand),
    /// Configuration: `check` validates the file, environment and flags and
    /// prints the effective settings, secrets masked.
    #[command(
        subcommand,
        after_help = "Examples:
  tessera --config tessera.toml config check
  TESSERA_ACCESS_TOKEN_LIFETIME=15m tessera config check --output json"
    )]
    Config(ConfigCommand),
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  tessera completions bash > /etc/bash_completion.d/tessera
  tessera completions zsh > \"${fpath[1]}/_tessera\"")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Apply pending database migrations and list the applied ones (`serve` also applies them).
    #[command(after_help = "Examples:
  TESSERA_DATABASE_URL=postgres://tessera@db/tessera tessera migrate --output json")]
    Migrate {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// List the published keys and their states.
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Rotate now: each next key starts signing, each current key retires (its
    /// tokens keep validating until `signing_key_retention`), a new next key is
    /// published. Running servers pick it up without a restart.
    Rotate {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Create an administrator (there is no default one). The password is read
    /// from standard input. Example: `printf '%s\n' "$PW" | tessera admin create alice --password-stdin`
    Create {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Admin API tokens (`Authorization: Bearer tsa_…` on /admin/api).
    #[command(subcommand)]
    Token(AdminTokenCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration `serve` would use (`--config FILE`, `TESSERA_*`)
    /// and print the effective settings. Example: `tessera --config tessera.toml config check`
    Check {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// The latest events, oldest first. Example: `tessera audit tail -n 50`
    Tail {
        /// How many events.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: u32,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Events matching every filter given, newest first.
    /// Example: `tessera audit search --action token. --target my-client-id`
    Search {
        /// An action (`client.created`), or a prefix ending in `.` (`token.`).
        #[arg(long)]
        action: Option<String>,
        /// Who acted, as recorded (`user:alice`, `client:ID`).
        #[arg(long)]
        actor: Option<String>,
        /// What it was done to (a client id, a username, a scope).
        #[arg(long)]
        target: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminTokenCommand {
    /// Create a token acting as USER (a developer or administrator) and print
    /// it; it is shown only once. Example: `tessera admin token create --user alice --name ci`
    Create {
        #[arg(long)]
        user: String,
        /// What the token is for, shown in listings.
        #[arg(long)]
        name: String,
        /// How long it stays valid, e.g. "90d" [default: until revoked].
        #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
        expires_in: Option<std::time::Duration>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Revoke a token by its id.
    Revoke { token_id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user; the password is read from standard input, never from arguments.
    Add {
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
        /// Mark the email address as verified (shown to applications as `email_verified`).
        #[arg(long)]
        email_verified: bool,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List users.
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Set a new password, read from standard input.
    Passwd {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set what a user may do in the console: `user` (none), `developer` (their
    /// own applications in the developer portal) or `admin` (everything).
    Role { username: String, role: String },
    /// Stop a user from logging in.
    Disable { username: String },
    /// Let a disabled user log in again.
    Enable { username: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegistrationTokenCommand {
    /// Create an initial access token and print it (shown only once).
    Create {
        /// How long the token stays valid, e.g. "24h" [default: no expiry].
        #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
        expires_in: Option<std::time::Duration>,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env: TESSERA_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Issuer URL [default: derived from the listen address; env: TESSERA_ISSUER].
    #[arg(long, value_name = "URL")]
    pub(crate) issuer: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// Base URL of the protected API, e.g. http://127.0.0.1:3000.
    #[arg(long, value_name = "URL")]
    pub(crate) upstream: String,
    /// Address the proxy listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    pub(crate) listen: String,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub(crate) enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub(crate) enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum PkcePolicy {
    #[default]
    Required,
    Optional,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register an application and print its client_id and secret (shown only once).
    // Boxed: its many options would make every other command as large.
    Create(Box<CreateClientArgs>),
    /// List registered applications.
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Show one application (never its secret).
    Show {
        client_id: String,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Delete an application; its access tokens become inactive at once.
    Delete { client_id: String },
    /// Issue a new secret (shown only once); the old one works for the grace period.
    RotateSecret {
        client_id: String,
        /// How long the old secret keeps working, e.g. "1h" [default: 0s, it stops at once].
        #[arg(long, value_parser = humantime::parse_duration, default_value = "0s", value_name = "DURATION")]
        grace: std::time::Duration,
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Stop an application from getting tokens; its access tokens become inactive.
    Disable { client_id: String },
    /// Let a disabled application get tokens again.
    Enable { client_id: String },
}

#[derive(Debug, Args)]
pub(crate) struct CreateClientArgs {
    /// Application name, shown to users.
    #[arg(long)]
    pub(crate) name: String,
    /// URL of the organisation or application.
    #[arg(long, value_name = "URL")]
    pub(crate) org_url: Option<String>,
    /// Redirect URI (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub(crate) redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser (repeatable).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Scope the application may be given (repeatable); must be in the registry.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,
    /// Scope given when a request names none (repeatable) [default: every --scope].
    #[arg(long = "default-scope", value_name = "SCOPE")]
    pub(crate) default_scopes: Vec<String>,
    /// Grant type (repeatable): client_credentials, authorization_code, refresh_token,
    /// urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693).
    #[arg(long = "grant-type", value_name = "TYPE")]
    pub(crate) grant_types: Vec<String>,
    /// Resource (API identifier, an absolute URI) tokens may be issued for (repeatable).
    #[arg(long = "resource", value_name = "URI")]
    pub(crate) resources: Vec<String>,
    /// A public client (native or browser app) without a secret.
    #[arg(long)]
    pub(crate) public: bool,
    /// A JWK Set file with the client's public keys: the client then
    /// authenticates with private_key_jwt (signed assertions) and gets no secret.
    #[arg(long, value_name = "FILE", conflicts_with = "public")]
    pub(crate) jwks: Option<std::path::PathBuf>,
    /// Where the client publishes its public keys (an https URL, fetched when
    /// it authenticates): like --jwks, for keys the client rotates itself.
    #[arg(long, value_name = "URL", conflicts_with_all = ["public", "jwks"])]
    pub(crate) jwks_uri: Option<String>,
    /// Allow this client to introspect every token, not only its own (for resource servers).
    #[arg(long)]
    pub(crate) introspect_any_token: bool,
    /// This client's access tokens live this long (1m to 24h), if shorter than
    /// the server's `access_token_lifetime`.
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub(crate) access_token_lifetime: Option<std::time::Duration>,
    /// PKCE for the code flow: required (default), or optional for a confidential
    /// client whose legacy integration never sends it.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) pkce: PkcePolicy,
    /// Refuse this client's token requests that carry no DPoP proof (RFC 9449
    /// `dpop_bound_access_tokens`): its access tokens are always key-bound.
    #[arg(long)]
    pub(crate) dpop_bound_access_tokens: bool,
    /// Accept this client's authorization requests only through the PAR
    /// endpoint (RFC 9126 `require_pushed_authorization_requests`).
    #[arg(long)]
    pub(crate) require_pushed_authorization_requests: bool,
    #[arg(long, value_enum, default_value_t)]
    pub(crate) output: Output,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScopeCommand {
    /// Add a scope to the registry.
    Add {
        name: String,
        /// What the scope allows, as shown to users on consent pages.
        #[arg(long)]
        description: String,
    },
    /// List the registry.
    List {
        #[arg(long, value_enum, default_value_t)]
        output: Output,
    },
    /// Delete a scope no client holds.
    Delete { name: String },
}
