// Package simbmc puts the simulated site's BMCs on the network over real protocols: each
// machine gets an IPMI BMC (ipmisim, go-ipmi's BMC server, one UDP port per machine) or a
// Redfish system (redfishsim, one HTTP server for all machines, a system per node), backed by
// the simulated machine. The real OOB drivers then act on the simulated site exactly as they
// would on hardware: drydock demo --bmc and the OOB benchmark use it.
package simbmc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/ipmi/ipmisim"
	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// Endpoints are the BMCs being served.
type Endpoints struct {
	// Params are each node's oob_parameters pointing at its BMC (type, address, port, account,
	// credential, and system_id and use_ssl for Redfish).
	Params  map[string]map[string]string
	closers []func()
}

// Close stops every BMC.
func (e *Endpoints) Close() {
	for _, c := range e.closers {
		c()
	}
	e.closers = nil
}

// opTimeout bounds one simulated BMC operation.
const opTimeout = 10 * time.Second

// Serve starts a BMC for every node over protocol "ipmi" or "redfish" on 127.0.0.1, with the
// given credentials.
func Serve(ctx context.Context, site *sim.Site, nodes []*design.Node, protocol, user, password string) (*Endpoints, error) {
	e := &Endpoints{Params: map[string]map[string]string{}}
	switch protocol {
	case "ipmi":
		for _, n := range nodes {
			b, err := site.BMC(n)
			if err != nil {
				e.Close()
				return nil, err
			}
			srv, err := ipmisim.Start(ctx, "127.0.0.1:0", user, password, ipmiChassis{b})
			if err != nil {
				e.Close()
				return nil, fmt.Errorf("IPMI BMC of %s: %w", n.Name, err)
			}
			e.closers = append(e.closers, func() { _ = srv.Close() })
			e.Params[n.Name] = map[string]string{"type": "ipmi", "address": srv.Host(), "port": strconv.Itoa(srv.Port()),
				"account": user, "credential": password}
		}
	case "redfish":
		cfg := redfishsim.Config{User: user, Password: password, Machines: map[string]redfishsim.Machine{}, MACs: map[string]string{}}
		for _, n := range nodes {
			b, err := site.BMC(n)
			if err != nil {
				return nil, err
			}
			cfg.IDs = append(cfg.IDs, n.Name)
			cfg.Machines[n.Name] = RedfishMachine(b)
			if n.BootMAC != "" {
				cfg.MACs[n.Name] = n.BootMAC
			}
		}
		srv := redfishsim.New(cfg)
		url, closeFn, err := srv.Start("127.0.0.1:0", false)
		if err != nil {
			return nil, fmt.Errorf("the Redfish simulator: %w", err)
		}
		e.closers = append(e.closers, closeFn)
		hostport := strings.TrimPrefix(url, "http://")
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			e.Close()
			return nil, err
		}
		for _, n := range nodes {
			e.Params[n.Name] = map[string]string{"type": "redfish", "address": host, "port": port, "account": user,
				"credential": password, "system_id": n.Name, "use_ssl": "false"}
		}
	default:
		return nil, fmt.Errorf("BMC protocol %q: use ipmi or redfish", protocol)
	}
	return e, nil
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// ipmiChassis adapts a simulated BMC to ipmisim.
type ipmiChassis struct{ b *sim.BMC }

func (c ipmiChassis) PowerOn() bool { return c.b.PowerOn() }

func (c ipmiChassis) SetPower(on bool) error {
	ctx, cancel := opCtx()
	defer cancel()
	return c.b.SetPower(ctx, on)
}

func (c ipmiChassis) BootDevice() string { return c.b.NextBoot() }

func (c ipmiChassis) SetBootDevice(dev string, persistent bool) error {
	switch dev {
	case "pxe":
	case "disk", "none", "":
		dev = "disk"
	default:
		return errors.New("the simulated machine boots from pxe or disk only")
	}
	ctx, cancel := opCtx()
	defer cancel()
	return c.b.SetNextBoot(ctx, dev)
}

// RedfishMachine backs a redfishsim system with a simulated machine.
func RedfishMachine(b *sim.BMC) redfishsim.Machine { return redfishMachine{b} }

// redfishMachine adapts a simulated BMC to redfishsim.
type redfishMachine struct{ b *sim.BMC }

func (m redfishMachine) PowerOn() bool { return m.b.PowerOn() }

func (m redfishMachine) SetPower(on bool) {
	ctx, cancel := opCtx()
	defer cancel()
	_ = m.b.SetPower(ctx, on)
}

func (m redfishMachine) NextBoot() string {
	if m.b.NextBoot() == "pxe" {
		return "Pxe"
	}
	return ""
}

func (m redfishMachine) SetNextBoot(target string, once bool) {
	dev := "disk"
	if target == "Pxe" {
		dev = "pxe"
	}
	ctx, cancel := opCtx()
	defer cancel()
	_ = m.b.SetNextBoot(ctx, dev)
}

// File is one file of a design.
type File struct {
	Name string
	Data []byte
}

// ServeDesign compiles a design, starts a BMC for each of its nodes that has an oob.type (the
// other nodes are left alone), and returns the design's files rewritten so that those nodes'
// oob_parameters point at their BMCs.
func ServeDesign(ctx context.Context, site *sim.Site, files []File, protocol, user, password string) ([]File, *Endpoints, error) {
	srcs := make([]design.Source, len(files))
	for i, f := range files {
		srcs[i] = design.Source{Name: f.Name, Data: f.Data}
	}
	in := design.Parse(srcs...)
	if !in.OK() {
		return nil, nil, fmt.Errorf("the design cannot be read: %s", in.Messages[0].Message)
	}
	var nodes []*design.Node
	for _, n := range design.Compile(in.Design).Nodes {
		if n.OOBType != "" {
			nodes = append(nodes, n)
		}
	}
	e, err := Serve(ctx, site, nodes, protocol, user, password)
	if err != nil {
		return nil, nil, err
	}
	out := make([]File, len(files))
	for i, f := range files {
		data, err := RewriteOOB(f.Data, e.Params)
		if err != nil {
			e.Close()
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out[i] = File{Name: f.Name, Data: data}
	}
	return out, e, nil
}
