//! The gateway's HTTP surface: `/oauth/callback`, `/healthz`, `/readyz`, `/metrics`.
