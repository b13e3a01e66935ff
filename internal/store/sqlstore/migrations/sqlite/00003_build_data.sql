-- Build data: facts about nodes (hardware inventory, LLDP neighbours, script output) collected
-- by drivers while they work. Records are only ever inserted; seq is the insertion order.

-- +goose Up
CREATE TABLE build_data (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    node_name   TEXT    NOT NULL,
    task_id     TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    collected   INTEGER NOT NULL,
    generator   TEXT    NOT NULL,                       -- lshw, lldp, commission:<script>, ...
    data_format TEXT    NOT NULL,                       -- MIME type
    data        BLOB    NOT NULL
) STRICT;

CREATE INDEX build_data_node ON build_data (node_name, generator, collected);
CREATE INDEX build_data_task ON build_data (task_id);

-- +goose Down
DROP TABLE build_data;
