-- Proactive messages: each person's scheduled reminders and tasks, and their time zone.
CREATE TABLE schedule_entries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    principal   TEXT    NOT NULL,
    -- The chat it was made in, as the channel's chat key: where it is delivered.
    chat        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('reminder', 'task')),
    text        TEXT    NOT NULL,
    -- The IANA zone its wall-clock times are read in.
    zone        TEXT    NOT NULL,
    -- The wall-clock time of the first occurrence, YYYY-MM-DDTHH:MM:SS.
    first_local TEXT    NOT NULL,
    -- The RFC 5545 recurrence rule without `RRULE:`, when it repeats.
    rule        TEXT,
    -- When it is next due, Unix seconds; NULL once it is no longer active.
    next_due    INTEGER,
    state       TEXT    NOT NULL CHECK (state IN ('active', 'done', 'cancelled', 'stopped')),
    created_at  INTEGER NOT NULL,
    fired       INTEGER NOT NULL DEFAULT 0,
    last_fired_at INTEGER,
    last_outcome  TEXT
);
CREATE INDEX schedule_entries_due ON schedule_entries (next_due) WHERE state = 'active';
CREATE INDEX schedule_entries_principal ON schedule_entries (principal, state);

CREATE TABLE schedule_zones (
    principal  TEXT PRIMARY KEY,
    zone       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
