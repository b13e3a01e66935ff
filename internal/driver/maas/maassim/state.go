package maassim

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"
)

// state is the region's database. Every field is guarded by Server.mu.
type state struct {
	s   *Server
	seq map[string]int

	nodes    []*machine          // machines and rack controllers, by id
	bySID    map[string]*machine // by system id
	fabrics  []*fabric
	vlans    map[int]*vlan
	subnets  []*subnet
	ipranges []*ipRange
	routes   []*staticRoute
	domains  []*domain
	spaces   []*space
	tags     []*tag
	sshKeys  []*sshKey
	users    []*user
	tokens   []*token
	config   map[string]any
	boot     []*bootResource
	sources  []*bootSource
	repos    []*packageRepo
	results  []*scriptResult

	ips      map[netip.Addr][]ipHolder // links given an address, by address (see holdIP)
	tagIndex map[string]*tag           // st.tags by name
	// results by lower-cased system id, in st.results order
	resultsBySID map[string][]*scriptResult

	importing    bool
	nonces       map[string]int64 // token key + nonce → timestamp
	noncesPruned int64            // wall-clock seconds of the last clean-up
	faults       []*faultEntry
	journal      []JournalEntry
}

type token struct{ consumer, key, secret, name string }

type user struct {
	username, email string
	superuser       bool
}

type faultEntry struct {
	kind   FaultKind
	target string
	left   int // < 0: forever
}

// JournalEntry is one request as the server saw it.
type JournalEntry struct {
	Method, Path, Op string
	Fields           url.Values // decoded parameters (query for GET/DELETE, body for POST/PUT)
	Status           int
}

const journalMax = 200000

func newState(s *Server) *state {
	st := &state{
		s:            s,
		seq:          map[string]int{"fabric": -1, "vlan": 5000, "domain": -1, "pool": -1, "space": -1},
		bySID:        map[string]*machine{},
		vlans:        map[int]*vlan{},
		nonces:       map[string]int64{},
		ips:          map[netip.Addr][]ipHolder{},
		tagIndex:     map[string]*tag{},
		resultsBySID: map[string][]*scriptResult{},
		config:       defaultConfig(),
	}
	st.users = []*user{{username: "admin", email: "admin@example.com", superuser: true}}
	st.tokens = []*token{{consumer: s.key.consumer, key: s.key.token, secret: s.key.secret, name: "drydock"}}
	st.domains = []*domain{{id: st.next("domain"), name: "maas", authoritative: true, isDefault: true}}
	st.newFabric("", "", "")
	st.initBoot(s.cfg.BootResources)
	st.initRepos()
	racks := s.cfg.RackControllers
	if racks == nil {
		racks = []RackSpec{DefaultRackController()}
	}
	for _, r := range racks {
		st.addRack(r)
	}
	return st
}

// next allocates the next id of a table.
func (st *state) next(table string) int {
	st.seq[table]++
	return st.seq[table]
}

func (st *state) now() time.Time { return st.s.now() }

// lookupMachine finds a node (machine or controller) by system id or hostname.
func (st *state) lookupMachine(key string) *machine {
	if m := st.bySID[key]; m != nil {
		return m
	}
	for _, m := range st.nodes {
		if m.hostname == key {
			return m
		}
	}
	return nil
}

// effects are BMC calls decided under the lock and made after it is released.
type effects []func()

func (fx *effects) add(f func()) { *fx = append(*fx, f) }

func (fx effects) run() {
	for _, f := range fx {
		f()
	}
}

// bmcTimeout bounds one BMC call (MAAS waits up to about a minute for a power driver).
const bmcTimeout = 60 * time.Second

// powerEffect returns the BMC calls that set a machine's power (and, powering on for a
// network boot, the one-time PXE boot first). Powering on a machine already on power-cycles
// it, as MAAS's power_cycle does.
func powerEffect(b BMC, on, pxe bool) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), bmcTimeout)
		defer cancel()
		if !on {
			_ = b.SetPower(ctx, false)
			return
		}
		if pxe {
			_ = b.SetNextBoot(ctx, "pxe")
		}
		if b.PowerOn() && pxe {
			_ = b.SetPower(ctx, false)
		}
		_ = b.SetPower(ctx, true)
	}
}

// inject records a fault.
func (st *state) inject(f Fault) {
	n := f.Count
	if n == 0 {
		n = 1
	}
	st.faults = append(st.faults, &faultEntry{kind: f.Kind, target: f.Hostname, left: n})
}

// takeFault consumes one occurrence of a fault of one of the kinds aimed at the machine;
// it returns the kind found ("" when none).
func (st *state) takeFault(m *machine, kinds ...FaultKind) FaultKind {
	for i, f := range st.faults {
		if f.target != "" && f.target != m.systemID && f.target != m.hostname {
			continue
		}
		for _, k := range kinds {
			if f.kind == k {
				if f.left > 0 {
					f.left--
					if f.left == 0 {
						st.faults = append(st.faults[:i], st.faults[i+1:]...)
					}
				}
				return k
			}
		}
	}
	return ""
}

// requestFault answers a request with an injected error when one is pending.
func (s *Server) requestFault(r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	for i, f := range st.faults {
		var e *apiError
		switch f.kind {
		case Unavailable:
			e = textError(http.StatusServiceUnavailable, "Unable to connect to the rack controller (injected fault).")
			e.retryAfter = "10"
		case InternalError:
			e = textError(http.StatusInternalServerError, "Internal server error (injected fault).")
		case TooManyRequests:
			e = textError(http.StatusTooManyRequests, "Too many requests (injected fault).")
		default:
			continue
		}
		if f.left > 0 {
			if f.left--; f.left == 0 {
				st.faults = append(st.faults[:i], st.faults[i+1:]...)
			}
		}
		return e
	}
	return nil
}

// takeRequestFault consumes one occurrence of a request fault of the kind.
func (st *state) takeRequestFault(kind FaultKind) bool {
	for i, f := range st.faults {
		if f.kind != kind {
			continue
		}
		if f.left > 0 {
			if f.left--; f.left == 0 {
				st.faults = append(st.faults[:i], st.faults[i+1:]...)
			}
		}
		return true
	}
	return false
}

func (s *Server) journal(r *http.Request, op string, fields url.Values, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	if len(st.journal) >= journalMax {
		st.journal = append(st.journal[:0], st.journal[journalMax/2:]...)
	}
	st.journal = append(st.journal, JournalEntry{Method: r.Method, Path: r.URL.Path, Op: op, Fields: fields, Status: status})
}

// Journal returns the requests served so far, oldest first (the most recent 200,000 at most).
func (s *Server) Journal() []JournalEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]JournalEntry(nil), s.st.journal...)
}

// ResetJournal forgets the journal.
func (s *Server) ResetJournal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.journal = nil
}

// defaultConfig is MAAS's configuration with its defaults (maas_api.md §5.8).
func defaultConfig() map[string]any {
	return map[string]any{
		"maas_name":                      "maas",
		"default_osystem":                "ubuntu",
		"default_distro_series":          "jammy",
		"commissioning_distro_series":    "jammy",
		"default_min_hwe_kernel":         "",
		"kernel_opts":                    "",
		"upstream_dns":                   "",
		"dnssec_validation":              "auto",
		"ntp_servers":                    "ntp.ubuntu.com",
		"http_proxy":                     "",
		"enable_http_proxy":              true,
		"enable_third_party_drivers":     true,
		"default_storage_layout":         "flat",
		"enable_disk_erasing_on_release": false,
		"disk_erase_with_secure_erase":   false,
		"disk_erase_with_quick_erase":    false,
		"node_timeout":                   30,
		"boot_images_auto_import":        true,
		"completed_intro":                true,
		"maas_url":                       "http://localhost:5240/MAAS",
		"default_dns_ttl":                30,
		"network_discovery":              "enabled",
		"active_discovery_interval":      10800,
		"curtin_verbose":                 true,
		"force_v1_network_yaml":          false,
		"ntp_external_only":              false,
		"use_peer_proxy":                 false,
		"prefer_v4_proxy":                false,
		"maas_proxy_port":                8000,
		"max_node_commissioning_results": 10,
		"max_node_testing_results":       10,
		"max_node_installation_results":  3,
		"release_notifications":          true,
		"windows_kms_host":               nil,
	}
}

// nodeTimeout is the timeout of commissioning, testing and deployment.
func (st *state) nodeTimeout() time.Duration {
	if t := st.s.cfg.NodeTimeout; t != 0 {
		return t
	}
	switch v := st.config["node_timeout"].(type) {
	case int:
		return time.Duration(v) * time.Minute
	}
	return 30 * time.Minute
}

func (st *state) configBool(name string) bool {
	b, _ := st.config[name].(bool)
	return b
}

// nodesOfType returns the nodes of the given types in id order.
func (st *state) nodesOfType(types ...int) []*machine {
	out := make([]*machine, 0, len(st.nodes))
	for _, m := range st.nodes {
		for _, t := range types {
			if m.nodeType == t {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

func containsFold(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}
