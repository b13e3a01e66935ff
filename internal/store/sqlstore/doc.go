// Package sqlstore implements store.Store once, on database/sql, for both SQL engines Drydock
// supports: SQLite (package store/sqlite, through modernc.org/sqlite) and PostgreSQL (package
// store/postgres, through pgx). The engine packages open the connections and hand them to New
// with their Dialect; everything else — queries, transactions, the status machine, leases — lives
// here, so the two backends cannot drift apart, and one contract suite (store/storetest) checks
// both.
//
// # SQL
//
// Queries are plain SQL written by hand, in the subset both engines understand: `$n`
// placeholders, `ON CONFLICT` upserts, `RETURNING`, `IN (…)` lists built with one placeholder per
// element (no arrays). The Dialect holds what differs: row-locking clauses (`FOR SHARE`,
// `FOR NO KEY UPDATE`, `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, where one
// writer at a time is the lock), how a timestamp is bound (timestamptz on PostgreSQL, integer
// Unix nanoseconds on SQLite), read-transaction options and migration locking. Column types
// differ only in the schema files: migrations/<engine>/NNNNN_name.sql, applied by goose (Migrate).
//
// Timestamps are stored in UTC and kept to the microsecond, the precision of PostgreSQL's
// timestamptz; values are truncated before they are written, on both engines, so both return
// the same times.
//
// # Compare-and-set
//
// Every status change is an `UPDATE … WHERE status IN (…)` whose affected-row count decides
// success; the allowed source statuses come from task.Transitions, so an illegal transition
// changes nothing and returns store.ErrConflict.
//
// Writes made on behalf of a running task (SaveResult, FinishTask, step runs, reservations,
// lease renewal and release) are guarded by its lease: in the same transaction they read the
// top-level task's lease_owner and lease_generation — with a row lock on PostgreSQL (shared for
// writes to other rows, exclusive when the task row itself is updated) — and fail with
// store.ErrLeaseLost unless both match and the lease is held. A claim must lock that row
// exclusively to increase the generation, so a guarded write either commits before the claim
// or is refused: the generation is a fencing token. SQLite has a single writer (write
// transactions are BEGIN IMMEDIATE), which gives the same order.
//
// A lease is "held" while lease_expires is set. Claiming sets owner, expiry and generation+1;
// releasing or finishing clears the expiry (the owner and generation stay as a record of the
// last holder, and the generation never decreases, so an old lease can never match again).
// A task is claimable when it is a queued top-level task, or a running or terminating one whose
// lease expired or was released.
//
// Subtasks record the top-level task that owns them (root_id) so that the owner's lease guards
// them too, and their position among their parent's subtasks (seq, taken from a counter on the
// parent row, which also serialises concurrent registrations).
//
// # Boot actions and retention
//
// A node has a boot action context per deployment (one of them current) and the actions of each
// deployment; reports are compare-and-set on an action's status (bootactions.go). A report
// wakes the BootActionsChanged waiters of its Store; on PostgreSQL it also sends a notice
// (pg_notify on BootActionsChannel) that the other processes' stores hear on a listening
// connection (package postgres). SQLite has no such channel: a second process on the same file
// is not woken, so waiters also re-check periodically.
//
// Purge deletes finished task trees (judged by their top-level task, whose row it locks) with
// everything that references them, and old build data of other finished trees, in one
// transaction and without VACUUM (purge.go).
//
// # Transactions and retries
//
// All writes run in a transaction on the write pool (Store.write); reads run in a read
// transaction on the read pool (a snapshot on both engines). A transaction that fails with a
// transient error (PostgreSQL serialization failure or deadlock, SQLite busy) is retried a few
// times; everything it did was rolled back, so a retry is safe.
package sqlstore
