//! The MCP side of the gateway: a pool of client sessions and the tool catalog built from them.
//!
//! The agent sees MCP only through [`ToolHost`]: the catalog of tools a principal may use, and a
//! way to call one of them on that principal's behalf.

pub mod catalog;

pub use catalog::{CatalogTool, ToolHints};
