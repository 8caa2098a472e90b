//! Our MCP servers for Notion and Google Calendar, and the OAuth authorization server they share.
