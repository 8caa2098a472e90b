//! Operator commands: `check-config`, `doctor`, `backup` and friends.

pub mod backup;
pub mod check_config;
pub mod doctor;
pub mod pairing;
