//! Operator commands: `check-config`, `doctor`, `backup`, `route`, `connections` and friends.

pub mod backup;
pub mod check_config;
pub mod connections;
pub mod doctor;
pub mod pairing;
pub mod route;
