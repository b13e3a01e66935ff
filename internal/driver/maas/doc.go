// Package maas is the MAAS node driver: a driver.NodeDriver (with driver.MachineLister and
// driver.HealthChecker) that provisions nodes through the MAAS REST API 2.0
// (shared/reference/maas_api.md), re-imagining the original Drydock MAAS driver
// (drivers_spec.md §2) without its defects (§6).
//
// # The client: not gomaasclient
//
// The package talks to MAAS through its own small typed client (client.go, api.go) on
// net/http, not through github.com/canonical/gomaasclient, after reading gomaasclient v0.20.0
// and the gomaasapi v2.3.0 client under it:
//
//   - no call takes a context.Context (requests are built with http.NewRequest), so a step's
//     deadline or cancellation cannot stop a request, and gomaasapi's retry sleep cannot be
//     interrupted either;
//   - gomaasapi retries every method, POST included, on a 503 (or 409) carrying Retry-After:
//     an op=allocate, create_bond or partition create may be sent twice — the duplication the
//     original driver suffered from (§6 #7); it does not retry GETs on connection errors;
//   - it closes the connection after every request (request.Close = true), which costs a TCP
//     handshake per request at a thousand nodes;
//   - operations the design needs are missing: BlockDevice.Format takes only the fstype and
//     BlockDevicePartition.Format the fstype and label, so filesystem UUIDs (fs_uuid) and
//     logical-volume labels cannot be set;
//   - errors are gomaasapi.ServerError values wrapped by juju/errors, and with it come
//     juju/errors, loggo, schema and mgo.v2 (for BSON) in the driver's build. The driver needs
//     about forty calls, each a few lines on net/http.
//
// (The emulator's tests use gomaasclient as an independent client, which is where it fits.)
//
// The client signs every request with OAuth 1.0 PLAINTEXT from the key
// consumer_key:token_key:token_secret (consumer secret empty: signature "&<token_secret>",
// a fresh nonce and timestamp per try), sends op in the query string and bodies as
// application/x-www-form-urlencoded (repeated fields for lists), and decodes JSON (and the
// BSON of op=details, with a small decoder: no BSON library is needed for a flat document of
// binaries). Every call takes a context and each try is bounded by Config.Timeout. MAAS's
// error answers become *APIError with the method, path, op, status and MAAS's text (JSON field
// errors flattened). GET, PUT and DELETE — idempotent — are retried on 503/502/504/429 and on
// connection errors with exponential backoff and jitter (Config.Attempts, Config.Backoff); a
// DELETE that finds 404 on a retry has succeeded. A POST is sent once: only a connection that
// could not be opened (the request never left) is tried again; a POST whose answer was lost
// (timeout, reset after sending) returns an *UncertainError, and the step answers Unreachable
// so that its next call reads the machine again and finds out whether the operation happened.
// The key travels only in the Authorization header; texts that reach messages are scrubbed of
// its parts anyway.
//
// # Behaviour
//
// Every call reads the current state first and writes only what differs, so a second run of
// any step makes no write (tests count requests by method). Waits are InProgress results with
// RetryAfter = Config.PollInterval; the orchestrator enforces the timeouts. Each call ends in
// exactly one outcome: Done (Skipped when nothing needed doing), InProgress, Failed (MAAS
// refused, or a machine reached a failed state in this attempt) or Unreachable (503,
// connection problems, an uncertain POST). Messages name the node, the MAAS machine (system
// id) or the fabric, VLAN, subnet, and the cause. State carries the machine's status, system
// id and power state.
//
// Finding a node's machine: by the system id last seen (checked against the hostname), then
// hostname, then BMC address (power_address compared as a host, not as a string; the map of
// all power parameters is shared by lookups for a few seconds), then boot MAC. Several
// matches are an error, never a guess.
//
//   - ValidateServices: version/ (reachable), account/?op=list_authorisation_tokens (key
//     valid), boot-resources/ and is_importing (every image and kernel the nodes use is
//     synced; still importing → Unreachable), rack controllers (http, dhcpd, rackd, tftp
//     running or off; none healthy → Failed).
//   - PrepareSite create_network_template: per NetworkLink (not labelled noconfig) the fabric
//     named after it — else the one fabric where MAAS discovered the link's networks (renamed;
//     a fabric claimed by another link or networks spread over several fabrics fail the step),
//     else a new one; the untagged VLAN's MTU; per network its VLAN (vid from vlan, name, MTU),
//     DNS domain, subnet (name, VLAN, gateway — cleared when the design has none — and DNS
//     servers), dynamic and reserved IP ranges (ranges the driver made that the design dropped
//     are deleted; MAAS has no static range type), DHCP (relayed to the VLAN of the rack
//     interface holding dhcp_relay_upstream_target when a rack has it and that VLAN serves
//     DHCP; else served by the healthy racks on the VLAN, primary and secondary), and static
//     routes (other than 0.0.0.0/0: created, updated, or deleted when the design dropped them).
//     configure_user_credentials adds the region's authorized keys MAAS lacks (compared by type
//     and key, multi-line keys joined). configure_node_provisioner makes the apt package
//     repositories match (POST/PUT only differing fields; remove_unlisted deletes others but
//     main_archive and ports_archive; rpm repositories fail the step: MAAS has none) and creates
//     the region's tag definitions (lshw XPath tags).
//   - IdentifyNode: finds the machine, renames it to the node's hostname and domain (creating
//     the domain), and with Config.UseNodeOOBParams sets the power type and parameters from the
//     node's oob settings (ipmi, redfish, libvirt → virsh; credential, credential_file or
//     credential_env). Failed when the machine is not found (or, with Data.system_id, when MAAS
//     refused the update).
//   - ConfigureHardware: New, Broken, Failed commissioning → op=commission; Failed testing →
//     op=test; InProgress while Commissioning/Testing; Done at Ready (Skipped when it was
//     already commissioned) with build data: lshw and lldp (text/xml) from op=details and the
//     script results as commission:<name> and testing:<name> (text/plain, with MAAS's time).
//     A failure state reached by this attempt is Failed with MAAS's message; a later attempt
//     (the orchestrator's retry, a new task) starts over.
//   - ApplyNetworking: per design interface with a network link (not noconfig): a bond of the
//     slaves' kernel names (c.DeviceName) with the link's bond settings, or the one physical
//     NIC; its VLAN (the native network's, else the fabric's untagged one) and MTU; a VLAN
//     sub-interface per tagged network (reused only under the same parent; ones the design
//     dropped are deleted); subnet links (static with the node's address, dhcp, or link_up)
//     and the default gateway on the primary network (static links only). Bonds in the way of
//     the design are deleted; links that differ are unlinked.
//   - ApplyStorage: resolves the layout (devices by c.DeviceName, partitions, sizes with
//     design.ParseSize — ">" takes the rest, "%" of the device or VG —, bootable, part_uuid,
//     filesystems with fstype, label, UUID, mount point and options, volume groups over whole
//     disks and partitions, logical volumes, root on LVM, the boot disk) and compares it with
//     MAAS; when anything differs the machine's layout is cleared and rebuilt (a Ready machine
//     holds no data; an Allocated one is released first), else nothing is written.
//   - ApplyPlatform: the kernel parameters as the tag <node>_kp with kernel_opts (replaced when
//     they change, deleted when the design has none), the node's tags (created when missing),
//     and tags Drydock manages that the design dropped taken off the machine. Image and kernel
//     go with the deployment.
//   - Deploy: allocates a Ready machine, sets the workload annotations to owner_data, replaces
//     every <node>__baid__* tag by <node>__baid__<hexkey> (the key never appears in messages),
//     deploys with distro_series, hwe_kernel and c.BootActions.UserData as user_data;
//     InProgress while Deploying; Done at Deployed with deploy:<name> build data; Failed at
//     Failed deployment with MAAS's message. A later attempt that finds a failed deployment
//     releases the machine and deploys again; the configuration steps do the same.
//   - Destroy: releases the machine (erase per Config.Erase or the node's owner_data
//     erase_disks: none, quick, secure, full), waits for Ready; with Config.DeleteOnDestroy it
//     then deletes it. A node MAAS does not know is released already.
//
// The package is tested against the MAAS emulator in maassim (see the tests).
package maas
