//! Operator commands: `check-config`, `doctor`, `backup`, `route`, `connections`, `status` and
//! friends, and the receiver of Alertmanager's webhook.

pub mod alertmanager;
pub(crate) mod backup;
pub(crate) mod check_config;
pub(crate) mod connections;
pub(crate) mod doctor;
pub(crate) mod pairing;
pub(crate) mod redirect_uris;
pub(crate) mod restore;
pub mod route;
pub(crate) mod schedule;
pub mod status;
