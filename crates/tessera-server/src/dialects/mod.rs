//! Vendor dialects: the contracts of the source documents, for integrations
//! that cannot change. Each is off by default and turned on by name
//! (`dialects = ["myob"]`, `TESSERA_DIALECTS=myob,yourmembership`).
//!
//! A dialect is route aliases plus a request translator (their request → the
//! standard form parameters) and a response translator (the standard token
//! response → theirs), around `routes::token::issue`: no grant rule is copied.

mod myob;
mod yourmembership;

use std::collections::BTreeSet;

use axum::Router;

use crate::state::AppState;

/// A vendor contract Tessera can speak besides the standard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    /// MYOB: `/oauth2/account/authorize`, token at `POST /oauth2/v1/authorize`,
    /// `expires_in` as a string, `token_type: "bearer"`, a `user` object.
    Myob,
    /// YourMembership: `POST /OAuth/GetAccessToken` with a PascalCase JSON body,
    /// answered in JSON or CSV.
    YourMembership,
    /// MYP (IdentityServer style): the access token's `scope` claim is an array.
    Myp,
    /// MyID: authorization requests POSTed as forms; the standard endpoints
    /// already serve it, so the name only documents the intent.
    MyId,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [Dialect::Myob, Dialect::YourMembership, Dialect::Myp, Dialect::MyId];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Myob => "myob",
            Dialect::YourMembership => "yourmembership",
            Dialect::Myp => "myp",
            Dialect::MyId => "myid",
        }
    }

    pub fn parse(name: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|dialect| dialect.name().eq_ignore_ascii_case(name.trim()))
    }

    /// "myob, yourmembership, myp, myid", for error messages.
    pub fn valid_names() -> String {
        Dialect::ALL.map(Dialect::name).join(", ")
    }
}

/// The dialects a server speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialects(BTreeSet<Dialect>);

impl Dialects {
    pub fn new(dialects: impl IntoIterator<Item = Dialect>) -> Dialects {
        Dialects(dialects.into_iter().collect())
    }

    pub fn has(&self, dialect: Dialect) -> bool {
        self.0.contains(&dialect)
    }
}

/// The routes the enabled dialects add to the standard ones.
pub(crate) fn routes(dialects: &Dialects) -> Router<AppState> {
    let mut router = Router::new();
    if dialects.has(Dialect::Myob) {
        router = router.merge(myob::routes());
    }
    if dialects.has(Dialect::YourMembership) {
        router = router.merge(yourmembership::routes());
    }
    router
}
