//! Operator commands: `check-config`, `doctor`, `backup`, `route` and friends.

pub mod backup;
pub mod check_config;
pub mod doctor;
pub mod pairing;
pub mod route;
