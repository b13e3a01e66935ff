// Package sim is a simulated data centre: machines with BMCs and a provisioner that behaves
// like MAAS at the level the orchestrator sees. It stands in for hardware in `drydock demo`,
// in `drydock serve` by default, in the crash-recovery tests and in benchmarks.
//
// A Site keeps its state in its own SQLite database (not the orchestrator's). Machines are
// materialised from design nodes on first sight (Ensure, or the first driver call for a node).
// Every state change is appended to an operation log in the same transaction as the change,
// so what a call reported as done or in progress is on disk, and what is not on disk did not
// happen. Long operations are stored as (operation, start, duration, outcome) and evaluated
// lazily against the clock whenever the machine is read: an operation started before a crash
// completes "while the orchestrator is down", exactly as a real machine would.
//
// # Machine states
//
// The BMC has a power state (on/off), a one-time next boot device (pxe/disk; a power on or
// cycle consumes it) and the time of the last power cycle. The provisioner status follows
// MAAS (latencies are the defaults; see DefaultLatency):
//
//	(unknown) --power on/cycle with next boot pxe--> enlisting --1s--> New
//	                                                          \--fault--> (unknown)  enlist_failed
//	New | Failed commissioning --ConfigureHardware--> Commissioning --2s--> Ready
//	                                                               \--fault--> Failed commissioning
//	Ready | Allocated --ApplyNetworking/Storage/Platform (100ms each, recorded)--> same status
//	Ready | Allocated (all three applied) --Deploy--> Deploying --3s--> Deployed
//	                                                          \--fault--> Failed deployment
//	Allocated | Deploying | Deployed | Failed deployment | Releasing failed
//	        --Destroy--> Releasing --1s--> Ready (power off, applied configuration cleared)
//	                              \--fault--> Releasing failed
//
// Commissioning powers the machine on (and off when it ends Ready), deployment powers it on;
// power changes made through the BMC do not interrupt the provisioner's operations. A hung
// operation never completes. Synchronous operations (power 200ms, a cycle twice that,
// set boot 50ms, identify 50ms, interrogate 20ms, apply 100ms, prepare_site 100ms) wait out
// their latency while holding the machine, then record their change.
//
// # Calls
//
// Every call first reads the machine (evaluating due transitions) and does only what is still
// needed: asking for a state that already holds answers Done with Skipped set. A step that
// observes the failure of an operation it started itself (same Call.Key) answers Failed
// instead of starting it again, so a configured failure cannot loop. A resumed power cycle
// (Call.Resumed) is skipped when the machine was cycled at or after Call.Since. Every result
// that observed the machine carries its State; an Unreachable answer (a flap, a cancelled
// call) observed nothing and carries none.
//
// # Build data
//
// Commissioning and deployment report what they found, as MAAS does (driver.Result.BuildData,
// see builddata.go): the Done result of the ConfigureHardware step whose commissioning
// completed carries the machine's lshw XML, its LLDP neighbours (lldpctl XML) and a
// commissioning script's output; the Deploy step's carries the installer's output. The
// hardware is derived from the machine and the node's hardware profile (hardware.go): devices
// named by device aliases sit at the aliases' bus addresses with kernel names of their own, so
// that design.LogicalNames resolves the aliases on the simulated site. ApplyNetworking and
// ApplyStorage log the device names as Call.DeviceName resolves them.
//
// One operation runs per machine at a time; operations on different machines run in
// parallel. SQLite has one writer, so the site commits through a single connection, and the
// operations waiting at the same moment share one transaction (each stays atomic).
//
// # Shared mode
//
// By default a Site owns its file: it caches the machines and writes through, so only one
// process may drive the file. With Config.Shared several processes (several orchestrator
// instances sharing one data centre, say two `drydock serve` behind one PostgreSQL store)
// drive the same file at once, and one can carry on from exactly where another was killed.
// Every process that opens the file at the same time must use shared mode.
//
// Nothing is cached between calls. An operation reads the machine row (creating it on first
// sight with INSERT OR IGNORE, then reading it, so that two processes seeing a new node at
// once create one machine), evaluates due transitions, decides, and writes the new state with
// its log entries, all in one transaction that begins with BEGIN IMMEDIATE: it holds SQLite's
// write lock from its first read, so the read-modify-write is atomic across processes.
// Waiting for another process's transaction is SQLite's busy_timeout (30s); BEGIN is retried
// if it still answers SQLITE_BUSY. Timed transitions stay (operation, start, duration,
// outcome) in the row and are evaluated by whichever process reads the row next; their
// completion is recorded once, by the first transaction to see it due.
//
// Synchronous operations wait out a latency, which must not happen inside a transaction (it
// would stop every process). They follow a claim protocol instead (table claims, one row per
// claimed machine, "" for the site-wide operations):
//
//  1. Decide, in one transaction: if another operation's claim on the machine has not expired,
//     roll back and wait (polling the claim without the write lock) until it is dropped or
//     expires. Otherwise run the call; if it does not need to wait (a skip, a failure, the start
//     of an asynchronous operation, a zero latency), commit its change: done. If it needs to
//     wait, commit only the due completions it observed, plus a claim on the machine (this
//     operation's token; expiry ClaimTTL from now on the real clock).
//  2. Wait, outside any transaction, while a heartbeat renews the claim every ClaimTTL/3. A
//     hung operation waits here until its context ends. A wait cut short (context) drops the
//     claim and answers Unreachable, having changed nothing.
//  3. Finish, in a second transaction: check that the claim is still this operation's (if it
//     expired and another operation took the machine over, answer Unreachable and record
//     nothing), re-read the machine, run the call again on it (it decides again on the state
//     as it is now: a power off whose machine powered off meanwhile is skipped; fault
//     decisions made in step 1 are not made again), write the change and its log entry, and
//     drop the claim.
//
// So an operation is recorded as happened only by the transaction that makes its change, and
// a process killed at any point leaves either nothing or an expiring claim: the other
// processes wait at most ClaimTTL (default 5s) for a machine a dead process held, and a live
// process keeps its machines as long as it waits. Close drops the claims of the calls it
// interrupts. Within one process the operations on one machine also queue on an in-process
// lock, so that they do not poll each other's claims.
//
// System ids are reserved in the table system_ids, whose primary key (the id) keeps them
// unique across processes: a machine enlisting reserves, in its transaction, the first
// candidate that INSERT OR IGNORE leaves to it. Fault and jitter decisions count calls per
// process (Config.Seed makes each process's sequence reproducible, not their interleaving).
// Shared mode costs two or three small transactions per call instead of a share of a group
// commit: it is several times slower than the default mode (see BenchmarkSharedDeployPath).
package sim
