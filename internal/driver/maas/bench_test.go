package maas

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
)

// scaleSite is a design of n nodes like the full site's compute nodes (a PXE NIC, an 802.3ad
// bond with a native and a tagged network, root and /boot partitions, a log volume group),
// on /16 networks so that every node has static addresses.
func scaleSite(t testing.TB, n int) *design.Site {
	t.Helper()
	var b strings.Builder
	b.WriteString(`
schema: 'drydock/Region/v1'
metadata: {schema: 'metadata/Document/v1', name: scale, storagePolicy: cleartext, labels: {application: drydock}}
data:
  authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJBk9B3FlT9zc05vLZi/GI3bk7QzPP0jMysOWSWmGb3c scale']
---
schema: 'drydock/NetworkLink/v1'
metadata: {schema: 'metadata/Document/v1', name: pxe, storagePolicy: cleartext, labels: {application: drydock}}
data: {bonding: {mode: disabled}, mtu: 1500, trunking: {mode: disabled, default_network: pxe}, allowed_networks: [pxe]}
---
schema: 'drydock/NetworkLink/v1'
metadata: {schema: 'metadata/Document/v1', name: gp, storagePolicy: cleartext, labels: {application: drydock}}
data: {bonding: {mode: 802.3ad}, mtu: 9000, trunking: {mode: 802.1q, default_network: mgmt}, allowed_networks: [mgmt, private]}
---
schema: 'drydock/Network/v1'
metadata: {schema: 'metadata/Document/v1', name: pxe, storagePolicy: cleartext, labels: {application: drydock}}
data: {cidr: 10.0.0.0/16, ranges: [{type: dhcp, start: 10.0.200.1, end: 10.0.250.254}], dns: {domain: pxe.scale, servers: 10.0.0.10}}
---
schema: 'drydock/Network/v1'
metadata: {schema: 'metadata/Document/v1', name: mgmt, storagePolicy: cleartext, labels: {application: drydock}}
data: {vlan: '100', mtu: 1500, cidr: 10.1.0.0/16, routes: [{subnet: 0.0.0.0/0, gateway: 10.1.0.1, metric: 10}], dns: {domain: mgmt.scale, servers: 10.1.0.9}}
---
schema: 'drydock/Network/v1'
metadata: {schema: 'metadata/Document/v1', name: private, storagePolicy: cleartext, labels: {application: drydock}}
data: {vlan: '101', mtu: 9000, cidr: 10.2.0.0/16, dns: {domain: priv.scale, servers: 10.2.0.9}}
---
schema: 'drydock/Network/v1'
metadata: {schema: 'metadata/Document/v1', name: oob, storagePolicy: cleartext, labels: {application: drydock}}
data: {cidr: 10.3.0.0/16, dns: {domain: oob.scale, servers: 10.3.0.9}}
---
schema: 'drydock/HardwareProfile/v1'
metadata: {schema: 'metadata/Document/v1', name: hw, storagePolicy: cleartext, labels: {application: drydock}}
data:
  vendor: HP
  generation: '8'
  hw_version: '3'
  bios_version: '2.2.3'
  boot_mode: bios
  bootstrap_protocol: pxe
  pxe_interface: 0
  device_aliases:
    nic1: {address: '0000:00:03.0', dev_type: 'NIC', bus_type: pci}
    nic2: {address: '0000:00:04.0', dev_type: 'NIC', bus_type: pci}
    nic3: {address: '0000:00:05.0', dev_type: 'NIC', bus_type: pci}
---
schema: 'drydock/HostProfile/v1'
metadata: {schema: 'metadata/Document/v1', name: node, storagePolicy: cleartext, labels: {application: drydock}}
data:
  hardware_profile: hw
  primary_network: mgmt
  oob: {type: ipmi, network: oob, account: admin, credential: admin}
  interfaces:
    pxe: {device_link: pxe, slaves: [nic1], networks: [pxe]}
    bond0: {device_link: gp, slaves: [nic2, nic3], networks: [mgmt, private]}
  storage:
    physical_devices:
      sda:
        partitions:
          - {name: root, size: 30g, bootable: true, filesystem: {mountpoint: /, fstype: ext4}}
          - {name: boot, size: 1g, filesystem: {mountpoint: /boot, fstype: ext4}}
      sdb: {volume_group: log_vg}
    volume_groups:
      log_vg:
        logical_volumes:
          - {name: log_lv, size: 500m, filesystem: {mountpoint: /var/log, fstype: xfs}}
  platform: {image: xenial, kernel: ga-16.04, kernel_params: {quiet: true, console: ttyS2}}
  metadata: {tags: [compute], owner_data: {role: compute}}
`)
	for i := range n {
		fmt.Fprintf(&b, `---
schema: 'drydock/BaremetalNode/v1'
metadata: {schema: 'metadata/Document/v1', name: node%04d, storagePolicy: cleartext, labels: {application: drydock}}
data:
  host_profile: node
  addressing:
    - {network: pxe, address: dhcp}
    - {network: mgmt, address: 10.1.%d.%d}
    - {network: private, address: 10.2.%d.%d}
    - {network: oob, address: 10.3.%d.%d}
`, i, 1+i/200, 10+i%200, 1+i/200, 10+i%200, 1+i/200, 10+i%200)
	}
	in := design.Parse(design.Source{Name: "scale.yaml", Data: []byte(b.String())})
	if !in.OK() {
		for _, m := range in.Messages {
			t.Logf("%s %s: %s", m.Code, m.Level, m.Message)
		}
		t.Fatal("the scale design does not ingest")
	}
	return design.Compile(in.Design)
}

func scaleEnv(t testing.TB, site *design.Site) *env {
	return newEnv(t, site, envOpts{
		sim: maassim.Config{RackControllers: []maassim.RackSpec{{Hostname: "rack1", Interfaces: []maassim.RackNIC{
			{Name: "eth0", MAC: "52:54:00:00:00:01", CIDR: "10.0.0.0/16", IP: "10.0.0.2"}}}}},
		driver: Config{PollInterval: 5 * time.Millisecond, MaxConcurrent: 64},
	})
}

// prepareDeploy runs prepare_site, then prepare_nodes and deploy_nodes steps for every node
// with workers nodes at a time, and returns the number of nodes that did not end Done.
func (e *env) prepareDeploy(workers int) (failed int, first string) {
	e.prepareSite()
	steps := e.steps()[:6]
	nodes := make(chan *design.Node)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range nodes {
				for _, s := range steps {
					c := e.call(n, s.name)
					if s.name == "deploy_node" {
						c.BootActions = bootActions(n)
					}
					r := e.drive(s.f, c, time.Minute)
					if r.Outcome != driver.Done {
						mu.Lock()
						if failed++; first == "" {
							first = fmt.Sprintf("%s %s: %s: %s", s.name, n.Name, r.Outcome, r.Message)
						}
						mu.Unlock()
						break
					}
					if s.name == "configure_hardware" {
						e.commissionNames(n, r)
					}
				}
			}
		}()
	}
	for _, n := range e.site.Nodes {
		nodes <- n
	}
	close(nodes)
	wg.Wait()
	return failed, first
}

// TestPrepareDeployMany deploys 30 nodes at once and bounds the requests each costs.
func TestPrepareDeployMany(t *testing.T) {
	site := scaleSite(t, 30)
	e := scaleEnv(t, site)
	e.enlist()
	failed, first := e.prepareDeploy(10)
	if failed > 0 {
		t.Fatalf("%d nodes failed; first: %s", failed, first)
	}
	perNode := float64(e.d.Requests()) / float64(len(site.Nodes))
	t.Logf("%.1f requests per node", perNode)
	if perNode > 80 {
		t.Errorf("%.1f requests per node", perNode)
	}
	for _, n := range site.Nodes[:3] {
		st, _ := e.sim.Snapshot(e.sids[n.Name])
		checkMachine(t, e, n, st)
	}
}

// BenchmarkPrepareDeploy1000 runs prepare_site, then identify, commission, networking,
// storage, platform and deploy for 1,000 nodes against the emulator, 64 nodes at a time, and
// reports the requests per node (polls included) and the writes per node.
func BenchmarkPrepareDeploy1000(b *testing.B) {
	nodes := 1000
	if v, err := strconv.Atoi(os.Getenv("MAAS_BENCH_NODES")); err == nil && v > 0 {
		nodes = v // a quicker run: MAAS_BENCH_NODES=100
	}
	site := scaleSite(b, nodes)
	for b.Loop() {
		b.StopTimer()
		e := scaleEnv(b, site)
		e.enlist()
		e.msgs = nil
		b.StartTimer()
		failed, first := e.prepareDeploy(64)
		b.StopTimer()
		if failed > 0 {
			b.Fatalf("%d nodes failed; first: %s", failed, first)
		}
		by := e.count.take()
		total := 0
		for _, v := range by {
			total += v
		}
		b.ReportMetric(float64(e.d.Requests())/float64(nodes), "requests/node")
		b.ReportMetric(float64(writes(by))/float64(nodes), "writes/node")
		b.ReportMetric(float64(by["GET"])/float64(nodes), "reads/node")
		_ = context.Background
		b.StartTimer()
	}
}
