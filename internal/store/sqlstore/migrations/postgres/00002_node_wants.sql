-- Reservations honour the queue: a task records the nodes it wants before it may hold any, and
-- a younger task never takes a node an older unfinished task wants, nor starts while an older
-- task has not yet said which nodes it wants (targets_known).

-- +goose Up
ALTER TABLE tasks ADD COLUMN targets_known BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE node_wants (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    node    TEXT NOT NULL,
    PRIMARY KEY (node, task_id)
);

CREATE INDEX node_wants_task ON node_wants (task_id);

-- +goose Down
DROP TABLE node_wants;
ALTER TABLE tasks DROP COLUMN targets_known;
