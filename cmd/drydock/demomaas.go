package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/drydock-go/drydock/internal/app"
	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
)

// demoMAAS is the MAAS API emulator of `drydock demo --provisioner maas`: the real MAAS driver
// talks HTTP to it, and its machines are the simulated site's (power goes through their
// simulated BMCs).
type demoMAAS struct {
	emu *maassim.Server
	url string
	mu  sync.Mutex
	ids map[string]string // node -> system id
}

// startDemoMAAS serves an emulator without machines on a loopback port until ctx ends. Its
// rack controller is cabled to each network of the design that hands out addresses by DHCP
// (the provisioning networks), as a real site's rack controller is.
func startDemoMAAS(ctx context.Context, designRef string) (*demoMAAS, error) {
	site, err := compileRef(ctx, designRef)
	if err != nil {
		return nil, err
	}
	emu := maassim.New(maassim.Config{RackControllers: []maassim.RackSpec{maassim.RackFor(site)},
		Delays: maassim.Delays{Commissioning: time.Second, Testing: 200 * time.Millisecond,
			Deploying: 1500 * time.Millisecond, Releasing: 300 * time.Millisecond, DiskErasing: 300 * time.Millisecond}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("MAAS emulator: %w", err)
	}
	go func() { _ = emu.Serve(ctx, ln) }()
	return &demoMAAS{emu: emu, url: "http://" + ln.Addr().String() + "/MAAS", ids: map[string]string{}}, nil
}

// compileRef reads and compiles a design.
func compileRef(ctx context.Context, designRef string) (*design.Site, error) {
	srcs, err := (&fetchFlags{}).fetch(ctx, designRef)
	if err != nil {
		return nil, err
	}
	rep := validate.Sources(ctx, validate.Options{}, srcs...)
	if rep.Site == nil {
		return nil, fmt.Errorf("the design %s cannot be read", designRef)
	}
	return rep.Site, nil
}

// enlist creates the design's machines in the simulated site and enlists them in the emulator.
func (d *demoMAAS) enlist(ctx context.Context, a *app.App, designRef string) (int, error) {
	site, err := compileRef(ctx, designRef)
	if err != nil {
		return 0, err
	}
	if err := a.Sim.Ensure(site.Nodes...); err != nil {
		return 0, err
	}
	ids, err := d.emu.AddDesign(a.Sim, site, site.Nodes)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for n, id := range ids {
		d.ids[n] = id
	}
	return len(ids), nil
}

// summary prints what MAAS holds for each machine.
func (d *demoMAAS) summary(w io.Writer) {
	d.mu.Lock()
	nodes := make([]string, 0, len(d.ids))
	for n := range d.ids {
		nodes = append(nodes, n)
	}
	d.mu.Unlock()
	sort.Strings(nodes)
	fmt.Fprintln(w, "\nMAAS (emulated)")
	for _, n := range nodes {
		st, ok := d.emu.Snapshot(d.ids[n])
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-8s %-10s %-8s power %-3s  %d interfaces, %d block devices, %d tags\n", st.Hostname, st.StatusName,
			st.SystemID, st.PowerState, len(st.Interfaces), len(st.BlockDevices), len(st.Tags))
	}
	fmt.Fprintf(w, "  %d HTTP requests to the MAAS API (%.1f per machine)\n", d.emu.Requests(), float64(d.emu.Requests())/float64(max(len(nodes), 1)))
}
