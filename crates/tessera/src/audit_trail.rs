//! What the audit trail records of a command: every command that changes the
//! registry, users, tokens or keys, once it has succeeded, as actor `cli:USER`.

use tessera_server::admin::audit::Entry;

use crate::cli::{
    AdminCommand, AdminTokenCommand, ClientCommand, Command, KeysCommand, RegistrationTokenCommand,
    ScopeCommand, UserCommand,
};

/// The event a successful `command` leaves, or `None` for reads.
pub(crate) fn entry_for(command: &Command) -> Option<Entry> {
    let (action, target): (&'static str, Option<&str>) = match command {
        Command::Client(command) => match command {
            ClientCommand::Create(args) => ("client.created", Some(args.name.as_str())),
            ClientCommand::Delete { client_id } => ("client.deleted", Some(client_id)),
            ClientCommand::RotateSecret { client_id, .. } => ("client.secret_rotated", Some(client_id)),
            ClientCommand::Disable { client_id } => ("client.disabled", Some(client_id)),
            ClientCommand::Enable { client_id } => ("client.enabled", Some(client_id)),
            ClientCommand::List { .. } | ClientCommand::Show { .. } => return None,
        },
        Command::Scope(command) => match command {
            ScopeCommand::Add { name, .. } => ("scope.created", Some(name)),
            ScopeCommand::Delete { name } => ("scope.deleted", Some(name)),
            ScopeCommand::List { .. } => return None,
        },
        Command::User(command) => match command {
            UserCommand::Add { username, .. } => ("user.created", Some(username)),
            UserCommand::Passwd { username, .. } => ("user.password_reset", Some(username)),
            UserCommand::Role { username, .. }
            | UserCommand::Disable { username }
            | UserCommand::Enable { username } => ("user.updated", Some(username)),
            UserCommand::List { .. } => return None,
        },
        Command::Admin(command) => match command {
            AdminCommand::Create { username, .. } => ("user.created", Some(username)),
            AdminCommand::Token(AdminTokenCommand::Create { user, .. }) => ("api_token.created", Some(user)),
            AdminCommand::Token(AdminTokenCommand::Revoke { token_id }) => {
                ("api_token.deleted", Some(token_id))
            }
            AdminCommand::Token(AdminTokenCommand::List { .. }) => return None,
        },
        Command::RegistrationToken(RegistrationTokenCommand::Create { .. }) => {
            ("registration_token.created", None)
        }
        Command::Keys(KeysCommand::Rotate { .. }) => ("keys.rotated", None),
        Command::Keys(KeysCommand::List { .. })
        | Command::Serve(_)
        | Command::Proxy(_)
        | Command::Audit(_)
        | Command::Config(_)
        | Command::Completions { .. }
        | Command::Migrate { .. } => return None,
    };
    let who = std::env::var("USER").ok().filter(|user| !user.is_empty()).unwrap_or_else(|| "unknown".into());
    let mut entry = Entry::new(format!("cli:{who}"), action).detail("command", command_detail(command));
    if let Some(target) = target {
        entry = entry.target(target);
    }
    Some(entry)
}

/// The particulars worth keeping (never a password, secret or token).
fn command_detail(command: &Command) -> String {
    match command {
        Command::User(UserCommand::Role { role, .. }) => format!("role {role}"),
        Command::User(UserCommand::Disable { .. }) => "disable".into(),
        Command::User(UserCommand::Enable { .. }) => "enable".into(),
        Command::Admin(AdminCommand::Create { .. }) => "admin create".into(),
        Command::Admin(AdminCommand::Token(AdminTokenCommand::Create { name, .. })) => {
            format!("token `{name}`")
        }
        _ => String::new(),
    }
}
