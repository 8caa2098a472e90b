//! Unit tests of selection over the Notion and Calendar catalog fixtures.
