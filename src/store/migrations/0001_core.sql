-- Chat history: one row per message, per principal per chat. `body` is the message as JSON.
CREATE TABLE chat_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    principal   TEXT NOT NULL,
    chat        TEXT NOT NULL,
    turn        INTEGER NOT NULL,
    role        TEXT NOT NULL,
    body        TEXT NOT NULL,
    tokens      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX chat_messages_by_session ON chat_messages (principal, chat, id);

-- A running summary of turns that were compacted out of `chat_messages`.
CREATE TABLE chat_summaries (
    principal   TEXT NOT NULL,
    chat        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    tokens      INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (principal, chat)
);

-- Every tool call: who, which tool, a digest of the arguments (never the arguments), the outcome.
CREATE TABLE audit_tool_calls (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    principal    TEXT NOT NULL,
    server       TEXT NOT NULL,
    tool         TEXT NOT NULL,
    args_sha256  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    latency_ms   INTEGER NOT NULL
);
CREATE INDEX audit_tool_calls_by_principal ON audit_tool_calls (principal, at);
