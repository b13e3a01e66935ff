package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drydock-go/drydock/bench/internal/benchrun"
	ddesign "github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// emuSpec is what the parent hands the emulator child.
type emuSpec struct {
	Design        string        `json:"design"`
	Commissioning time.Duration `json:"commissioning"`
	Testing       time.Duration `json:"testing"`
	Deploying     time.Duration `json:"deploying"`
	BMCLatency    time.Duration `json:"bmc_latency"`
	CPUProfile    string        `json:"cpuprofile,omitempty"`
}

// emuReady is the emulator child's first line on stdout.
type emuReady struct {
	URL      string  `json:"url"`
	Key      string  `json:"key"`
	Machines int     `json:"machines"`
	SetupS   float64 `json:"setup_s"`
	Racks    string  `json:"racks"`
}

// emuStats is the emulator child's second line, written when the parent closes its stdin.
type emuStats struct {
	Requests  int            `json:"requests"`  // maassim's own count
	Counted   int            `json:"counted"`   // seen by the counting handler
	ByMethod  map[string]int `json:"by_method"` // GET, POST, PUT, DELETE
	ByStatus  map[int]int    `json:"by_status"`
	Endpoints []endpointStat `json:"endpoints"`
	HandlerS  float64        `json:"handler_s"` // summed wall time inside the handler
	Statuses  map[string]int `json:"statuses"`  // machines by MAAS status at the end
	Machines  int            `json:"machines"`
}

// endpointStat is one (method, path pattern, op) the emulator served.
type endpointStat struct {
	Method string  `json:"method"`
	Path   string  `json:"path"`
	Op     string  `json:"op"`
	Count  int     `json:"count"`
	TotalS float64 `json:"total_s"`
	MaxS   float64 `json:"max_s"`
	Errors int     `json:"errors"` // answers other than 2xx
	Bytes  int64   `json:"bytes"`  // response bodies
}

// counting wraps the emulator: every request is counted by method, status and endpoint
// pattern, and timed (wall time in the handler: lock waits and BMC calls included).
type counting struct {
	h  http.Handler
	mu sync.Mutex
	by map[[3]string]*endpointStat
	st map[int]int
	n  int
	d  time.Duration
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	c.h.ServeHTTP(sw, r)
	d := time.Since(t0)
	k := [3]string{r.Method, pattern(r.URL.Path), r.URL.Query().Get("op")}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.by[k]
	if e == nil {
		e = &endpointStat{Method: k[0], Path: k[1], Op: k[2]}
		c.by[k] = e
	}
	e.Count++
	e.TotalS += d.Seconds()
	e.MaxS = max(e.MaxS, d.Seconds())
	if sw.status < 200 || sw.status > 299 {
		e.Errors++
	}
	e.Bytes += sw.bytes
	c.st[sw.status]++
	c.n++
	c.d += d
}

// pattern turns a request path into its endpoint: /MAAS/api/2.0/nodes/4y3h7n/blockdevices/12/
// → nodes/{id}/blockdevices/{n}/.
func pattern(p string) string {
	p = strings.TrimPrefix(p, maassim.Prefix)
	seg := strings.Split(p, "/")
	for i, s := range seg {
		if s == "" {
			continue
		}
		prev := ""
		if i > 0 {
			prev = seg[i-1]
		}
		switch prev {
		case "machines", "nodes", "rackcontrollers":
			seg[i] = "{id}"
		case "tags":
			seg[i] = "{name}"
		default:
			if _, err := strconv.Atoi(s); err == nil {
				seg[i] = "{n}"
			}
		}
	}
	return strings.Join(seg, "/")
}

// emulator is a running emulator with its counting handler.
type emulator struct {
	emu    *maassim.Server
	site   *sim.Site
	c      *counting
	hs     *http.Server
	served chan error
	ready  emuReady
}

// runEmulator is the emulator child: it serves until the parent closes stdin, writing the
// emulator's URL and key first and its figures last.
func runEmulator(s emuSpec) error {
	if s.CPUProfile != "" {
		stop, err := benchrun.StartCPUProfile(s.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	e, err := startEmulator(s)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(e.ready); err != nil {
		return err
	}
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	return enc.Encode(e.stop())
}

// startEmulator enlists the simulated site's machines (and BMCs) in a MAAS emulator served on
// a loopback port.
func startEmulator(s emuSpec) (*emulator, error) {
	t0 := time.Now()
	data, err := os.ReadFile(s.Design)
	if err != nil {
		return nil, err
	}
	in := ddesign.Parse(ddesign.Source{Name: s.Design, Data: data})
	if !in.OK() {
		return nil, fmt.Errorf("the design does not parse: %s", in.Messages[0].Message)
	}
	site := ddesign.Compile(in.Design)

	// The machines and their BMCs, in memory. A BMC answers in BMCLatency (an IPMI BMC on a
	// LAN takes milliseconds), so that commissioning's and deployment's power calls cost what
	// they would, without measuring the simulator.
	lat := map[sim.Kind]time.Duration{sim.Power: s.BMCLatency, sim.SetBoot: s.BMCLatency}
	ss, err := sim.Open("", sim.Config{Latency: lat})
	if err != nil {
		return nil, err
	}
	if err := ss.Ensure(site.Nodes...); err != nil {
		ss.Close()
		return nil, err
	}

	// One rack controller with an interface on every network that has a DHCP range, so that
	// MAAS has discovered those subnets (the first on fabric-0) and the rack can serve DHCP.
	rack := maassim.RackSpec{Hostname: "rack01"}
	var racks []string
	for _, nw := range site.Networks {
		for _, r := range nw.Ranges {
			if r.Type != "dhcp" {
				continue
			}
			pfx, err := netip.ParsePrefix(nw.CIDR)
			if err != nil {
				return nil, fmt.Errorf("network %s: %v", nw.Name, err)
			}
			ip := pfx.Masked().Addr().Next().Next().Next().Next() // .4: in the reserved range
			rack.Interfaces = append(rack.Interfaces, maassim.RackNIC{Name: fmt.Sprintf("eth%d", len(rack.Interfaces)),
				CIDR: nw.CIDR, IP: ip.String()})
			racks = append(racks, nw.Name+" "+ip.String())
			break
		}
	}
	emu := maassim.New(maassim.Config{
		Delays:          maassim.Delays{Commissioning: s.Commissioning, Testing: s.Testing, Deploying: s.Deploying},
		BootResources:   bootResources(site),
		RackControllers: []maassim.RackSpec{rack},
	})
	ids, err := emu.AddSite(ss, site.Nodes)
	if err != nil {
		ss.Close()
		return nil, err
	}
	e := &emulator{emu: emu, site: ss, c: &counting{h: emu, by: map[[3]string]*endpointStat{}, st: map[int]int{}}, served: make(chan error, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ss.Close()
		return nil, err
	}
	e.hs = &http.Server{Handler: e.c, ReadHeaderTimeout: 30 * time.Second}
	go func() { e.served <- e.hs.Serve(ln) }()
	e.ready = emuReady{URL: "http://" + ln.Addr().String() + "/MAAS", Key: emu.APIKey(), Machines: len(ids),
		SetupS: time.Since(t0).Seconds(), Racks: strings.Join(racks, ", ")}
	return e, nil
}

// stop shuts the server down and returns the figures.
func (e *emulator) stop() emuStats {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.hs.Shutdown(ctx)
	<-e.served

	st := emuStats{Requests: e.emu.Requests(), ByMethod: map[string]int{}, ByStatus: map[int]int{}, Statuses: map[string]int{}}
	c := e.c
	c.mu.Lock()
	st.Counted, st.HandlerS = c.n, c.d.Seconds()
	for _, ep := range c.by {
		st.Endpoints = append(st.Endpoints, *ep)
		st.ByMethod[ep.Method] += ep.Count
	}
	for k, v := range c.st {
		st.ByStatus[k] = v
	}
	c.mu.Unlock()
	sort.Slice(st.Endpoints, func(i, j int) bool {
		a, b := st.Endpoints[i], st.Endpoints[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Method+a.Path+a.Op < b.Method+b.Path+b.Op
	})
	for _, id := range e.emu.Machines() {
		if m, ok := e.emu.Snapshot(id); ok {
			st.Statuses[m.StatusName]++
			st.Machines++
		}
	}
	_ = e.site.Close()
	return st
}

// bootResources are the emulator's default images plus every image/kernel pair the nodes use
// (as synced by MAAS: the driver checks them in verify_site, not run here).
func bootResources(site *ddesign.Site) []maassim.BootResource {
	rs := maassim.DefaultBootResources()
	seen := map[string]bool{}
	for _, n := range site.Nodes {
		if n.Image == "" || seen[n.Image+"/"+n.Kernel] {
			continue
		}
		seen[n.Image+"/"+n.Kernel] = true
		k := n.Kernel
		if k == "" {
			k = "generic"
		}
		rs = append(rs, maassim.BootResource{Name: "ubuntu/" + n.Image, Architecture: "amd64/" + k,
			Subarches: "generic," + k, Title: n.Image})
	}
	return rs
}
