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
// One operation runs per machine at a time; operations on different machines run in
// parallel. SQLite has one writer, so the site commits through a single connection, and the
// operations waiting at the same moment share one transaction (each stays atomic).
package sim
