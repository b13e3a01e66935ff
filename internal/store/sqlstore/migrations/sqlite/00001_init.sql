-- Drydock state store, SQLite schema (see package sqlstore for the design).
-- Timestamps are INTEGER Unix nanoseconds, UTC (written truncated to the microsecond, the
-- precision of the PostgreSQL schema). Booleans are INTEGER 0/1. JSON is TEXT. No column has a
-- length limit. Tables are STRICT, so a value of the wrong type is an error, not a surprise.

-- +goose Up
CREATE TABLE tasks (
    id               TEXT    PRIMARY KEY,               -- canonical UUID
    parent_id        TEXT    REFERENCES tasks (id) ON DELETE CASCADE,
    root_id          TEXT    NOT NULL,                  -- top-level task owning this one (itself when top-level)
    seq              INTEGER NOT NULL DEFAULT 0,        -- position among the parent's subtasks, from 1
    subtask_count    INTEGER NOT NULL DEFAULT 0,        -- subtasks registered so far (next seq)
    action           TEXT    NOT NULL,
    step             TEXT    NOT NULL DEFAULT '',
    design_ref       TEXT    NOT NULL DEFAULT '',
    node_filter      TEXT,                              -- JSON as requested, NULL for all nodes
    status           TEXT    NOT NULL,
    terminate        INTEGER NOT NULL DEFAULT 0,        -- sticky termination request
    terminated       INTEGER,
    terminated_by    TEXT    NOT NULL DEFAULT '',
    created          INTEGER NOT NULL,
    created_by       TEXT    NOT NULL DEFAULT '',
    updated          INTEGER NOT NULL,
    retry            INTEGER NOT NULL DEFAULT 0,
    result_status    TEXT    NOT NULL,
    result_message   TEXT    NOT NULL DEFAULT '',
    result_reason    TEXT    NOT NULL DEFAULT '',
    result_successes TEXT    NOT NULL DEFAULT '[]',     -- JSON array of entity names
    result_failures  TEXT    NOT NULL DEFAULT '[]',     -- JSON array of entity names
    result_links     TEXT    NOT NULL DEFAULT '[]',     -- JSON array of {rel, href}
    lease_owner      TEXT,                              -- last owner (NULL: never claimed, or requeued)
    lease_generation INTEGER NOT NULL DEFAULT 0,        -- fencing token: +1 on every claim, never decreases
    lease_expires    INTEGER                            -- NULL: lease not held
) STRICT;

CREATE INDEX tasks_claim   ON tasks (status, created) WHERE parent_id IS NULL;
CREATE INDEX tasks_parent  ON tasks (parent_id, seq);
CREATE INDEX tasks_root    ON tasks (root_id);
CREATE INDEX tasks_created ON tasks (created);

CREATE TABLE task_messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    message      TEXT    NOT NULL,
    error        INTEGER NOT NULL DEFAULT 0,
    context_type TEXT    NOT NULL DEFAULT '',
    context      TEXT    NOT NULL DEFAULT '',
    ts           INTEGER NOT NULL,
    extra        TEXT    NOT NULL DEFAULT '{}'          -- JSON object
) STRICT;

CREATE INDEX task_messages_task ON task_messages (task_id, seq);

CREATE TABLE step_runs (
    task_id       TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step          TEXT    NOT NULL,
    node          TEXT    NOT NULL,                     -- '' for site-wide steps
    ordinal       INTEGER NOT NULL DEFAULT 0,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    first_started INTEGER,
    started       INTEGER,
    finished      INTEGER,
    message       TEXT    NOT NULL DEFAULT '',
    detail        BLOB,
    owner         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, step, node)
) STRICT;

CREATE TABLE node_reservations (
    node    TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX node_reservations_task ON node_reservations (task_id);

CREATE TABLE design_snapshots (
    task_id TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    name    TEXT    NOT NULL,
    data    BLOB    NOT NULL,
    PRIMARY KEY (task_id, seq)
) STRICT;

CREATE TABLE node_state (
    node    TEXT    PRIMARY KEY,
    state   BLOB    NOT NULL,
    updated INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE node_state;
DROP TABLE design_snapshots;
DROP TABLE node_reservations;
DROP TABLE step_runs;
DROP TABLE task_messages;
DROP TABLE tasks;
