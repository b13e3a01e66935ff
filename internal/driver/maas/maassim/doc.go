// Package maassim is an in-process emulator of the MAAS REST API 2.0, faithful enough for
// Drydock's MAAS node driver to be tested against it as it would run against MAAS.
//
// Every fact it reproduces (paths, operations, field names, status values and labels, the
// allowed status transitions, error statuses and texts) comes from the reference
// shared/reference/maas_api.md, itself taken from MAAS's source; drivers_spec.md §7 lists
// what the driver needs. Where the two disagree, maas_api.md wins. Nothing here is MAAS code.
//
// # Starting it
//
// A Server is an http.Handler for /MAAS/api/2.0/...: mount it at the root of an
// httptest.Server, or run it with ListenAndServe(ctx, ":5240"). Clients use the URL
// http://<host>:<port>/MAAS and the key APIKey() ("consumer:token:secret"; fixed with
// Config.APIKey). Machines are added with AddMachine (or AddSite, from a simulated site).
//
// # Transport
//
// Paths end with a slash (partition/{id} needs none; both forms are accepted everywhere);
// the operation comes from op= in the query string, then the form body, or a /op-<name>
// suffix. POST and PUT bodies are application/x-www-form-urlencoded or multipart/form-data,
// whose parts may be base64 transfer-encoded (Drydock and the MAAS CLI send them so); GET and
// DELETE read the query string only (a GET body is ignored, as Django ignores it). Every
// request except version/ and describe/ (and the anonymous enlistment POST machines/) must
// carry OAuth 1.0 PLAINTEXT credentials (Authorization header, query or body) matching a
// token: consumer secret empty, signature "&<token secret>", an integer timestamp within
// 300 s of the wall clock (not Config.Now: clients sign with the wall clock) and a nonce not
// used before (Config.SkipNonceCheck turns that off); otherwise 401 with MAAS's text.
// Responses are JSON arrays and objects with MAAS's field names; errors are text/plain, JSON
// {field: [messages]} for form validation, 409 for state conflicts (never with Retry-After);
// op=details answers BSON ({"lshw": binary, "lldp": binary}).
//
// # Machines
//
// AddMachine enlists a machine in status New, as after a PXE enlistment: its NICs become
// physical interfaces (the boot NIC on the VLAN it booted from, with an AUTO link), its disks
// physical block devices. The status machine follows MAAS (maas_api.md §4):
//
//	New | Ready | Broken | Failed commissioning
//	        --commission--> Commissioning --Delays.Commissioning--> Testing --Delays.Testing--> Ready
//	Ready --allocate--> Allocated --deploy--> Deploying --Delays.Deploying--> Deployed
//	Allocated | Broken | Deploying | Deployed | Failed deployment | Releasing failed | Failed disk erasing
//	        --release--> Releasing --Delays.Releasing--> Ready (at once when the power is off or manual)
//	        --release erase=true--> Disk erasing --Delays.DiskErasing--> Ready
//
// plus abort, mark_broken, mark_fixed, test, lock and power_on/off, and every status change
// is checked against MAAS's table of allowed transitions. Timed transitions are stored as
// (operation, start, outcome) and evaluated lazily against Config.Now whenever the machine is
// read, so a fake clock makes tests deterministic. Commissioning, testing, deployment and
// disk erasure power the machine on through its BMC (one-time PXE boot, then power on;
// power-cycling a machine already on); release and the end of commissioning, testing and
// erasure power it off. BMC calls are made after the server lock is released, before the
// response is written.
//
// Commissioning clears the network and storage configuration (unless skip_networking,
// skip_storage) and, when it completes, reports the hardware again: the discovered
// interfaces and the disks with MAAS's default storage layout (config
// default_storage_layout, flat: the root filesystem on the boot disk, plus an EFI partition
// on UEFI machines). It also captures the lshw and lldp XML served by op=details (businfo
// and logical names of NICs and disks, as Drydock's alias resolution reads them) and the
// script results served by commissioning-results/ and nodes/{id}/results/. Deployment
// records osystem, distro_series, hwe_kernel and user_data and gives AUTO links addresses.
// Storage edits are allowed when the machine is Ready (filesystem operations also when
// Allocated), interface edits when it is New, Ready, Allocated or Broken, as MAAS allows.
//
// # Faults
//
// Inject arranges failures: a commissioning, testing, deployment, release or disk erasure
// that ends in the matching failed status; a commissioning or deployment that hangs (until
// MAAS's node_timeout, 30 minutes by default, then Failed … with MAAS's timeout message, or
// forever with a negative Config.NodeTimeout); the next N requests answering 503 (with
// Retry-After: 10), 500 or 429 before they are authenticated; GET fabrics/ answering an empty
// list. SetImporting, SetBootResources and SetRackService change what the service checks
// see. A missing machine is simply one not added.
//
// # Concurrency
//
// One mutex guards the state; handlers hold it only while they read or change the model
// (never during BMC calls or while writing the response), so thousands of requests from many
// goroutines are served safely. Journal records every request (method, path, op, decoded
// fields, status) for tests that assert call sequences; Requests counts them.
package maassim
