//! Chat channels: the console, Telegram and Slack, behind one trait.
