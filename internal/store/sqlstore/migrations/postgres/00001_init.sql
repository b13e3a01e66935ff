-- Drydock state store, PostgreSQL schema (see package sqlstore for the design).
-- Timestamps are timestamptz (UTC, microseconds). No column has a length limit.

-- +goose Up
CREATE TABLE tasks (
    id               TEXT        PRIMARY KEY,           -- canonical UUID
    parent_id        TEXT        REFERENCES tasks (id) ON DELETE CASCADE,
    root_id          TEXT        NOT NULL,              -- top-level task owning this one (itself when top-level)
    seq              BIGINT      NOT NULL DEFAULT 0,    -- position among the parent's subtasks, from 1
    subtask_count    BIGINT      NOT NULL DEFAULT 0,    -- subtasks registered so far (next seq)
    action           TEXT        NOT NULL,
    step             TEXT        NOT NULL DEFAULT '',
    design_ref       TEXT        NOT NULL DEFAULT '',
    node_filter      JSON,                              -- as requested (json keeps the text verbatim), NULL for all nodes
    status           TEXT        NOT NULL,
    terminate        BOOLEAN     NOT NULL DEFAULT FALSE, -- sticky termination request
    terminated       TIMESTAMPTZ,
    terminated_by    TEXT        NOT NULL DEFAULT '',
    created          TIMESTAMPTZ NOT NULL,
    created_by       TEXT        NOT NULL DEFAULT '',
    updated          TIMESTAMPTZ NOT NULL,
    retry            INTEGER     NOT NULL DEFAULT 0,
    result_status    TEXT        NOT NULL,
    result_message   TEXT        NOT NULL DEFAULT '',
    result_reason    TEXT        NOT NULL DEFAULT '',
    result_successes JSONB       NOT NULL DEFAULT '[]', -- array of entity names
    result_failures  JSONB       NOT NULL DEFAULT '[]', -- array of entity names
    result_links     JSONB       NOT NULL DEFAULT '[]', -- array of {rel, href}
    lease_owner      TEXT,                              -- last owner (NULL: never claimed, or requeued)
    lease_generation BIGINT      NOT NULL DEFAULT 0,    -- fencing token: +1 on every claim, never decreases
    lease_expires    TIMESTAMPTZ                        -- NULL: lease not held
);

CREATE INDEX tasks_claim   ON tasks (status, created) WHERE parent_id IS NULL;
CREATE INDEX tasks_parent  ON tasks (parent_id, seq);
CREATE INDEX tasks_root    ON tasks (root_id);
CREATE INDEX tasks_created ON tasks (created);

CREATE TABLE task_messages (
    seq          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id      TEXT        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    message      TEXT        NOT NULL,
    error        BOOLEAN     NOT NULL DEFAULT FALSE,
    context_type TEXT        NOT NULL DEFAULT '',
    context      TEXT        NOT NULL DEFAULT '',
    ts           TIMESTAMPTZ NOT NULL,
    extra        JSONB       NOT NULL DEFAULT '{}'
);

CREATE INDEX task_messages_task ON task_messages (task_id, seq);

CREATE TABLE step_runs (
    task_id       TEXT        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    step          TEXT        NOT NULL,
    node          TEXT        NOT NULL,                 -- '' for site-wide steps
    ordinal       INTEGER     NOT NULL DEFAULT 0,
    state         TEXT        NOT NULL,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    first_started TIMESTAMPTZ,
    started       TIMESTAMPTZ,
    finished      TIMESTAMPTZ,
    message       TEXT        NOT NULL DEFAULT '',
    detail        BYTEA,
    owner         TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, step, node)
);

CREATE TABLE node_reservations (
    node    TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE
);

CREATE INDEX node_reservations_task ON node_reservations (task_id);

CREATE TABLE design_snapshots (
    task_id TEXT   NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq     BIGINT NOT NULL,
    name    TEXT   NOT NULL,
    data    BYTEA  NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE node_state (
    node    TEXT        PRIMARY KEY,
    state   BYTEA       NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE node_state;
DROP TABLE design_snapshots;
DROP TABLE node_reservations;
DROP TABLE step_runs;
DROP TABLE task_messages;
DROP TABLE tasks;
