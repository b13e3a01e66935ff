-- Boot actions: a node's boot action context for each of its deployments (its identity key and
-- the tasks involved) and the actions of that deployment, with the status the node reports.
--
-- A context is keyed by (node_name, deployment), so redeploying a node adds a context instead of
-- overwriting the previous one, and the actions of different deployments never mix (the original
-- kept one context row per node and let actions of every deployment collide by name). At most
-- one context per node is current (is_current, enforced by a partial unique index); when the
-- current context is purged, the node has none.
--
-- Both tables reference tasks with ON DELETE CASCADE, so deleting a task tree (retention)
-- deletes its contexts and actions; the actions also cascade from their context.
--
-- Retention also deletes old build data of finished tasks: build_data_collected finds it.

-- +goose Up
CREATE TABLE boot_action_contexts (
    node_name      TEXT    NOT NULL,
    deployment     TEXT    NOT NULL,
    deploy_task_id TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE, -- top-level deploy_nodes task
    task_id        TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE, -- task the reports go to
    identity_key   BLOB    NOT NULL CHECK (length(identity_key) = 32),
    design_ref     TEXT    NOT NULL DEFAULT '',
    created        INTEGER NOT NULL,
    is_current     INTEGER NOT NULL DEFAULT 0,            -- the node's current context (one per node)
    PRIMARY KEY (node_name, deployment)
) STRICT;

CREATE UNIQUE INDEX boot_action_contexts_current ON boot_action_contexts (node_name) WHERE is_current;
CREATE INDEX boot_action_contexts_deploy_task ON boot_action_contexts (deploy_task_id);
CREATE INDEX boot_action_contexts_task ON boot_action_contexts (task_id);

CREATE TABLE boot_actions (
    id         TEXT    PRIMARY KEY,                       -- ULID, 26 characters of Crockford base32
    node_name  TEXT    NOT NULL,
    deployment TEXT    NOT NULL,
    seq        INTEGER NOT NULL,                          -- insertion order within the deployment, from 0
    task_id    TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,                          -- the BootAction document's name
    signaling  INTEGER NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('incomplete', 'unreported', 'success', 'failure', 'superseded')),
    updated    INTEGER NOT NULL,
    FOREIGN KEY (node_name, deployment) REFERENCES boot_action_contexts (node_name, deployment) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX boot_actions_deployment ON boot_actions (node_name, deployment, seq);
CREATE INDEX boot_actions_task ON boot_actions (task_id);

CREATE INDEX build_data_collected ON build_data (collected);

-- +goose Down
DROP INDEX build_data_collected;
DROP TABLE boot_actions;
DROP TABLE boot_action_contexts;
