// Package libvirt is the out-of-band driver for nodes that are libvirt domains (oob.type
// libvirt): an oob.Protocol over the libvirt RPC protocol (github.com/digitalocean/go-libvirt,
// pure Go), wrapped by oob.Driver for verification, retries, locking and outcomes.
//
// # Where the hypervisor is
//
// The node's oob_parameters libvirt_uri names the hypervisor:
//
//   - qemu:///system — the local libvirtd socket (/run/libvirt/libvirt-sock; the URI parameter
//     socket= or Protocol.Socket, which wins, point elsewhere);
//   - qemu+tcp://host[:port]/system — plain TCP (default port 16509), unauthenticated and
//     unencrypted: only for a libvirtd listening on a trusted network;
//   - qemu+ssh://[user@]host[:port]/system — libvirt's socket reached through SSH streamlocal
//     forwarding (no nc or virt-ssh-helper is needed on the host). The user is the URI's, else
//     oob_parameters account, else the current user. The key is the URI's keyfile=, else
//     Protocol.SSHKeyFile, else ~/.ssh/id_ed25519, id_ecdsa and id_rsa; oob_parameters
//     credential, when set, is offered as a password too. The host key must be in
//     Protocol.SSHKnownHosts (default ~/.ssh/known_hosts) unless Protocol.SSHInsecure is set;
//     a design cannot turn the check off (no_verify=1 is refused). socket= names the remote
//     libvirtd socket (default /run/libvirt/libvirt-sock).
//
// The domain is the one named like the node, or oob_parameters domain when set.
//
// # Power
//
// A domain is on when it is active (running, blocked, paused, shutting down or suspended by
// the guest) and off when it is shut off or crashed. Power on is virDomainCreate, power off is
// virDomainDestroy (hard: the libvirt equivalent of pulling the plug); both are idempotent.
//
// # One-time boot without touching the domain's boot order
//
// libvirt has no "next boot only" setting, and rewriting the persistent boot order (as the
// original driver did) changes every later boot too. Instead:
//
//  1. SetNextBoot records the request in the persistent definition's metadata, as the
//     element <drydock:boot-once dev="network" mac="…"/> in the namespace MetadataNS. Nothing
//     else in the definition changes, and the request survives driver restarts and can be read
//     with virsh metadata. It is checked right away against the definition (the NIC with the
//     node's boot MAC, or a disk, must exist).
//  2. The next power on through this driver, when such a request is pending, starts the domain
//     with a transient definition (virDomainCreateXML with the persistent definition's own
//     name and UUID, which libvirt attaches to the persistent domain as its live definition)
//     that differs only in its boot order: the NIC with the node's boot MAC (for pxe; the
//     first NIC when the node has no boot MAC; the first disk for disk) first, then the domain's own boot devices in their own order. The
//     request is then removed, so the persistent definition is back to what it was.
//  3. The next power off ends the live definition; later starts use the persistent boot order
//     again. The one-time order thus lasts one power-on: unlike a BMC's boot override it also
//     holds for reboots from inside the guest until the domain is powered off, because the
//     QEMU process and its boot order stay (a provisioner that PXE-boots its machines first,
//     as MAAS does, is not troubled by that).
//
// Both ways of writing a boot order are handled: <os><boot dev='…'/> (read the way libvirt
// does: hd, cdrom and fd are the first disk of that kind, network the first NIC) and
// per-device <boot order='N'/> on disks, NICs, host devices, redirected USB devices and
// filesystems. The transient definition always uses per-device orders, so the chosen NIC is
// found by MAC even when it is not the first. Direct kernel boot (<os><kernel>) is left out of
// the one-time definition, since it would win over any boot device. A request made while the
// domain runs waits for the next power on through the driver (a power cycle does it); a
// reboot from inside the guest does not consume it.
//
// # Errors
//
// What libvirt answered (no such domain, permission denied, invalid XML, an operation invalid
// in the domain's state, SSH authentication or host key refused, a bad URI) wraps oob.Refused:
// retrying will not help and the node fails. Failures to connect, broken connections,
// libvirt's timeouts and busy locks are transient and retried.
//
// Every call is bounded by its context: when the context ends during a libvirt call, the
// connection is closed (go-libvirt calls take no context) and the next call reconnects.
package libvirt
