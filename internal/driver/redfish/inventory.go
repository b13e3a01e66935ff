package redfish

import (
	"context"
	"errors"
	"math"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/driver/oob"
)

type processor struct {
	ID            string `json:"Id"`
	ProcessorType string
	Manufacturer  string
	Model         string
	Socket        string
	TotalCores    num
	TotalThreads  num
	MaxSpeedMHz   num
	Status        status
}

type memory struct {
	ID                string `json:"Id"`
	CapacityMiB       num
	MemoryDeviceType  string
	OperatingSpeedMhz num
	Status            status
}

type ethernetInterface struct {
	ID                    string `json:"Id"`
	MACAddress            string
	PermanentMACAddress   string
	EthernetInterfaceType string
	LinkStatus            string
	SpeedMbps             num
	Status                status
}

// mac is the interface's MAC: the permanent one when given, else the current one.
func (e *ethernetInterface) mac() string {
	if e.PermanentMACAddress != "" {
		return e.PermanentMACAddress
	}
	return e.MACAddress
}

type drive struct {
	ID            string `json:"Id"`
	Name          string
	Model         string
	Manufacturer  string
	SerialNumber  string
	MediaType     string
	Protocol      string
	CapacityBytes num
	Status        status
}

// nics reads a system's Ethernet interfaces (Absent ones left out).
func (s *session) nics(ctx context.Context, cs *computerSystem) ([]*ethernetInterface, error) {
	var out []*ethernetInterface
	err := each(s, ctx, cs.EthernetInterfaces.ID, func(e *ethernetInterface) {
		if !e.Status.absent() {
			out = append(out, e)
		}
	})
	return out, err
}

// each reads every member of a collection into a fresh T and hands it to fn. A collection the
// system does not link is empty.
func each[T any](s *session, ctx context.Context, coll string, fn func(*T)) error {
	if coll == "" {
		return nil
	}
	uris, err := s.members(ctx, coll)
	if err != nil {
		return err
	}
	for _, u := range uris {
		v := new(T)
		if _, err := s.getJSON(ctx, u, v); err != nil {
			return err
		}
		fn(v)
	}
	return nil
}

// Inventory reads what the BMC knows of the machine. A part the BMC refuses to give (a
// missing collection, a malformed member) is noted under "problems" and the rest is still
// reported; a transient error fails the read (and package oob retries it).
func (s *session) Inventory(ctx context.Context) (map[string]any, error) {
	cs, _, err := s.readSystem(ctx)
	if err != nil {
		return nil, err
	}
	inv := map[string]any{"system_id": s.sysID, "system_uri": s.sysURI}
	for k, v := range map[string]string{"manufacturer": cs.Manufacturer, "model": cs.Model, "serial_number": cs.SerialNumber,
		"sku": cs.SKU, "part_number": cs.PartNumber, "uuid": cs.UUID, "bios_version": cs.BiosVersion,
		"host_name": cs.HostName, "power_state": cs.power()} {
		if v != "" {
			inv[k] = v
		}
	}
	var problems []string
	part := func(name string, err error) error {
		if err == nil {
			return nil
		}
		if errors.Is(err, oob.ErrRefused) {
			problems = append(problems, name+": "+err.Error())
			return nil
		}
		return err
	}

	// Processors: present CPUs from the collection; the summary when there is none.
	procs := map[string]any{}
	var cpus []map[string]any
	cpuCount := 0
	model := ""
	err = each(s, ctx, cs.Processors.ID, func(p *processor) {
		if p.Status.absent() {
			return
		}
		it := map[string]any{"id": p.ID}
		setStr(it, "type", p.ProcessorType)
		setStr(it, "manufacturer", p.Manufacturer)
		setStr(it, "model", p.Model)
		setStr(it, "socket", p.Socket)
		setNum(it, "cores", p.TotalCores)
		setNum(it, "threads", p.TotalThreads)
		setNum(it, "max_speed_mhz", p.MaxSpeedMHz)
		cpus = append(cpus, it)
		if p.ProcessorType == "" || strings.EqualFold(p.ProcessorType, "CPU") {
			cpuCount++
			if model == "" {
				model = p.Model
			}
		}
	})
	if err := part("processors", err); err != nil {
		return nil, err
	}
	if cpus == nil && cs.ProcessorSummary.Count.ok {
		cpuCount = int(cs.ProcessorSummary.Count.v)
	}
	if model == "" {
		model = cs.ProcessorSummary.Model
	}
	procs["count"] = cpuCount
	setStr(procs, "model", model)
	setNum(procs, "logical_count", cs.ProcessorSummary.LogicalProcessorCount)
	if cpus != nil {
		procs["items"] = cpus
	}
	inv["processors"] = procs

	// Memory: the summary's total; the sum of the present modules when there is no summary.
	mem := map[string]any{}
	var dimms []map[string]any
	var sumMiB float64
	err = each(s, ctx, cs.Memory.ID, func(m *memory) {
		if m.Status.absent() {
			return
		}
		it := map[string]any{"id": m.ID}
		setNum(it, "capacity_mib", m.CapacityMiB)
		setStr(it, "type", m.MemoryDeviceType)
		setNum(it, "speed_mhz", m.OperatingSpeedMhz)
		dimms = append(dimms, it)
		sumMiB += m.CapacityMiB.v
	})
	if err := part("memory", err); err != nil {
		return nil, err
	}
	switch {
	case cs.MemorySummary.TotalSystemMemoryGiB.ok:
		mem["total_gib"] = round2(cs.MemorySummary.TotalSystemMemoryGiB.v)
	case sumMiB > 0:
		mem["total_gib"] = round2(sumMiB / 1024)
	}
	if dimms != nil {
		mem["modules"] = len(dimms)
		mem["items"] = dimms
	}
	inv["memory"] = mem

	// NICs: every present interface; "macs" are the physical ones (permanent MAC preferred).
	nics, err := s.nics(ctx, cs)
	if err := part("nics", err); err != nil {
		return nil, err
	}
	var nicItems []map[string]any
	var macs []string
	for _, n := range nics {
		it := map[string]any{"id": n.ID}
		setStr(it, "mac", n.MACAddress)
		setStr(it, "permanent_mac", n.PermanentMACAddress)
		setStr(it, "type", n.EthernetInterfaceType)
		setStr(it, "link_status", n.LinkStatus)
		setNum(it, "speed_mbps", n.SpeedMbps)
		nicItems = append(nicItems, it)
		if m := n.mac(); m != "" && (n.EthernetInterfaceType == "" || n.EthernetInterfaceType == "Physical") {
			macs = append(macs, strings.ToLower(m))
		}
	}
	sort.Strings(macs)
	inv["nics"] = nicItems
	inv["macs"] = macs

	// Storage: the drives of the Storage collection; SimpleStorage devices when it has none
	// (services that have both list the same disks twice).
	var drives []map[string]any
	var total float64
	addDrive := func(d *drive) {
		if d.Status.absent() {
			return
		}
		it := map[string]any{}
		setStr(it, "id", d.ID)
		setStr(it, "name", d.Name)
		setStr(it, "model", d.Model)
		setStr(it, "manufacturer", d.Manufacturer)
		setStr(it, "serial_number", d.SerialNumber)
		setStr(it, "media_type", d.MediaType)
		setStr(it, "protocol", d.Protocol)
		setNum(it, "capacity_bytes", d.CapacityBytes)
		drives = append(drives, it)
		total += d.CapacityBytes.v
	}
	var driveLinks []string
	err = each(s, ctx, cs.Storage.ID, func(st *struct{ Drives []link }) {
		for _, l := range st.Drives {
			driveLinks = append(driveLinks, l.ID)
		}
	})
	if err := part("storage", err); err != nil {
		return nil, err
	}
	for _, u := range driveLinks {
		var d drive
		if _, err := s.getJSON(ctx, u, &d); err != nil {
			if err := part("drive "+u, err); err != nil {
				return nil, err
			}
			continue
		}
		addDrive(&d)
	}
	if drives == nil {
		err = each(s, ctx, cs.SimpleStorage.ID, func(ss *struct{ Devices []drive }) {
			for i := range ss.Devices {
				addDrive(&ss.Devices[i])
			}
		})
		if err := part("simple storage", err); err != nil {
			return nil, err
		}
	}
	inv["storage"] = map[string]any{"drives": drives, "total_bytes": int64(total)}
	if problems != nil {
		inv["problems"] = problems
	}
	return inv, nil
}

func setStr(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func setNum(m map[string]any, k string, n num) {
	if !n.ok {
		return
	}
	if n.v == math.Trunc(n.v) && math.Abs(n.v) < 1<<53 {
		m[k] = int64(n.v)
		return
	}
	m[k] = n.v
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
