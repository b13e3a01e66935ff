package redfishsim

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"path"
	"strings"
)

// mockupFS is DMTF's public-rackmount1 mockup (Redfish-Publications 2025.4,
// BSD-3-Clause, mockup/LICENSE-DMTF); testdata/redfish/ holds the same copy.
//
//go:embed mockup/public-rackmount1
var mockupFS embed.FS

const (
	mockupRoot     = "mockup/public-rackmount1"
	mockupSystemID = "437XR1138R2"
	mockupSysURI   = "/redfish/v1/Systems/" + mockupSystemID
	primaryNIC     = "12446A3B0411"
	secondNIC      = "12446A3B8890"
	vlanNIC        = "VLAN1"
	managerNIC     = "ToManager"
)

// MockupFS returns the embedded mockup tree (root = /redfish/v1/, resource
// <P> in <P>/index.json).
func MockupFS() fs.FS {
	sub, err := fs.Sub(mockupFS, mockupRoot)
	if err != nil {
		panic(err)
	}
	return sub
}

// normPath maps a request path to a tree key: no trailing slash, and
// /redfish/v1/ → /redfish/v1.
func normPath(p string) string {
	for len(p) > 1 && strings.HasSuffix(p, "/") {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func (s *Server) build() error {
	raw := map[string][]byte{}
	err := fs.WalkDir(mockupFS, mockupRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Base(p) != "index.json" {
			return nil
		}
		b, err := mockupFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(path.Dir(p), mockupRoot)
		raw[normPath("/redfish/v1"+rel)] = b
		return nil
	})
	if err != nil {
		return err
	}
	s.tree = map[string][]byte{}
	s.posts = map[string]bool{}
	s.order = append([]string(nil), s.cfg.IDs...)
	first := s.order[0]

	// Everything outside the mockup system: references to the system point at
	// the first system; the links that list systems list them all.
	for uri, b := range raw {
		if strings.HasPrefix(uri, mockupSysURI) || strings.HasPrefix(uri, "/redfish/v1/SessionService/Sessions/") {
			continue
		}
		b = bytes.ReplaceAll(b, []byte(mockupSysURI), []byte("/redfish/v1/Systems/"+first))
		s.tree[uri] = b
	}
	members := make([]any, 0, len(s.order))
	for _, id := range s.order {
		members = append(members, odataID("/redfish/v1/Systems/"+id))
	}
	edits := []struct {
		uri  string
		edit func(m map[string]any)
	}{
		{"/redfish/v1/Systems", func(m map[string]any) {
			m["Members"] = members
			m["Members@odata.count"] = len(members)
		}},
		{"/redfish/v1/Chassis/1U", func(m map[string]any) { setLink(m, "ComputerSystems", members) }},
		{"/redfish/v1/Managers/BMC", func(m map[string]any) { setLink(m, "ManagerForServers", members) }},
		{"/redfish/v1/Managers/BMC/HostInterfaces/1", func(m map[string]any) { setLink(m, "ComputerSystems", members) }},
		{"/redfish/v1/SessionService", func(m map[string]any) {
			m["SessionTimeout"] = int(min(max(s.cfg.SessionTimeout.Seconds(), 30), 86400))
			m["AbsoluteSessionTimeoutEnabled"] = false
		}},
	}
	for _, e := range edits {
		if err := s.editTree(e.uri, e.edit); err != nil {
			return err
		}
	}

	for i, id := range s.order {
		sys, err := s.buildSystem(i, id, raw)
		if err != nil {
			return fmt.Errorf("system %s: %w", id, err)
		}
		s.sys[id] = sys
	}
	// Action targets of static resources (Manager.Reset, ...) are accepted
	// and do nothing, like DMTF's mockup server.
	for uri, b := range s.tree {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return fmt.Errorf("%s: invalid JSON", uri)
		}
		if acts, ok := m["Actions"].(map[string]any); ok {
			collectTargets(acts, s.posts)
		}
	}
	return nil
}

func collectTargets(acts map[string]any, into map[string]bool) {
	for k, v := range acts {
		a, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if k == "Oem" {
			collectTargets(a, into)
			continue
		}
		if t, ok := a["target"].(string); ok {
			into[normPath(t)] = true
		}
	}
}

func odataID(uri string) map[string]any { return map[string]any{"@odata.id": uri} }

func setLink(m map[string]any, name string, members []any) {
	links, ok := m["Links"].(map[string]any)
	if !ok {
		links = map[string]any{}
		m["Links"] = links
	}
	links[name] = members
}

func (s *Server) editTree(uri string, edit func(map[string]any)) error {
	b, ok := s.tree[uri]
	if !ok {
		return fmt.Errorf("%s missing from the mockup", uri)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", uri, err)
	}
	edit(m)
	out, err := json.MarshalIndent(m, "", "    ")
	if err != nil {
		return err
	}
	s.tree[uri] = out
	return nil
}

// genMAC returns a generated MAC of the n-th system (1-based); kind is 0xAA
// for the primary NIC, 0xBB for the second, 0xCC for the host-to-BMC one.
func genMAC(oui string, kind byte, n int) string {
	return fmt.Sprintf("%s:%02X:%02X:%02X", oui, kind, (n>>8)&0xff, n&0xff)
}

func (s *Server) buildSystem(i int, id string, raw map[string][]byte) (*System, error) {
	n := i + 1
	uri := "/redfish/v1/Systems/" + id
	primary := genMAC("52:54:00", 0xAA, n)
	if m, ok := s.cfg.MACs[id]; ok {
		hw, _ := net.ParseMAC(m)
		primary = strings.ToUpper(hw.String())
	}
	second := genMAC("52:54:00", 0xBB, n)
	secondAdmin := genMAC("02:00:00", 0xBB, n) // MACAddress differs from the permanent one, as in the mockup
	toBMC := genMAC("52:54:00", 0xCC, n)

	sys := &System{
		srv:  s,
		id:   id,
		uri:  uri,
		macs: []string{primary, second},
	}
	for src, b := range raw {
		if src != mockupSysURI && !strings.HasPrefix(src, mockupSysURI+"/") {
			continue
		}
		dst := uri + strings.TrimPrefix(src, mockupSysURI)
		b = bytes.ReplaceAll(b, []byte(mockupSysURI), []byte(uri))
		if src == mockupSysURI {
			sys.template = b
			continue
		}
		s.tree[dst] = b
	}
	if sys.template == nil {
		return nil, fmt.Errorf("mockup system missing")
	}
	nicEdits := map[string][2]string{ // NIC id → PermanentMACAddress, MACAddress
		primaryNIC: {primary, primary},
		secondNIC:  {second, secondAdmin},
		vlanNIC:    {primary, primary},
		managerNIC: {toBMC, toBMC},
	}
	for nic, macs := range nicEdits {
		if err := s.editTree(uri+"/EthernetInterfaces/"+nic, func(m map[string]any) {
			m["PermanentMACAddress"], m["MACAddress"] = macs[0], macs[1]
		}); err != nil {
			return nil, err
		}
	}
	if err := s.addStorage(uri, n); err != nil {
		return nil, err
	}

	var tm map[string]any
	if err := json.Unmarshal(sys.template, &tm); err != nil {
		return nil, err
	}
	boot, _ := tm["Boot"].(map[string]any)
	sys.resetTypes = s.cfg.ResetTypes
	if len(sys.resetTypes) == 0 {
		acts, _ := tm["Actions"].(map[string]any)
		reset, _ := acts["#ComputerSystem.Reset"].(map[string]any)
		sys.resetTypes = strings1(reset["ResetType@Redfish.AllowableValues"])
	}
	sys.bootTargets = s.cfg.BootTargets
	if len(sys.bootTargets) == 0 {
		sys.bootTargets = strings1(boot["BootSourceOverrideTarget@Redfish.AllowableValues"])
	}
	sys.serial = fmt.Sprintf("RFSIM%06d", n)
	sys.uuid = fmt.Sprintf("38947555-7742-3448-3784-%012x", n)
	sys.assetTag, _ = tm["AssetTag"].(string)
	sys.led, _ = tm["IndicatorLED"].(string)
	// Systems start powered off with no boot override, so that a test (or the
	// site) starts from a known state; the mockup's own values are On and
	// Pxe/Once.
	sys.power = "Off"
	sys.bootEnabled = "Disabled"
	sys.bootTarget = "None"
	sys.bootMode, _ = boot["BootSourceOverrideMode"].(string)
	sys.uefiTarget, _ = boot["UefiTargetBootSourceOverride"].(string)
	if m, ok := s.cfg.Machines[id]; ok {
		sys.machine = m
	}
	return sys, nil
}

func strings1(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// addStorage adds a Storage collection (the mockup only has SimpleStorage):
// Storage/1 with one Drive per present SimpleStorage/1 device.
func (s *Server) addStorage(uri string, n int) error {
	var ss struct {
		Devices []struct {
			Name, Manufacturer, Model string
			CapacityBytes             int64
			Status                    map[string]any
		}
	}
	if err := json.Unmarshal(s.tree[uri+"/SimpleStorage/1"], &ss); err != nil {
		return fmt.Errorf("SimpleStorage/1: %w", err)
	}
	st := uri + "/Storage/1"
	var drives []any
	for i, d := range ss.Devices {
		if d.Status["State"] == "Absent" {
			continue
		}
		did := fmt.Sprintf("Bay%d", i+1)
		durl := st + "/Drives/" + did
		drives = append(drives, odataID(durl))
		s.putJSON(durl, map[string]any{
			"@odata.type":    "#Drive.v1_17_0.Drive",
			"@odata.id":      durl,
			"Id":             did,
			"Name":           d.Name,
			"Manufacturer":   d.Manufacturer,
			"Model":          d.Model,
			"CapacityBytes":  d.CapacityBytes,
			"BlockSizeBytes": 512,
			"MediaType":      "HDD",
			"Protocol":       "SATA",
			"SerialNumber":   fmt.Sprintf("RFSIM%06dD%d", n, i+1),
			"Status":         d.Status,
			"Links":          map[string]any{"Storage": []any{odataID(st)}},
		})
	}
	s.putJSON(uri+"/Storage", map[string]any{
		"@odata.type":         "#StorageCollection.StorageCollection",
		"@odata.id":           uri + "/Storage",
		"Name":                "Storage Collection",
		"Members":             []any{odataID(st)},
		"Members@odata.count": 1,
	})
	s.putJSON(st, map[string]any{
		"@odata.type":        "#Storage.v1_15_0.Storage",
		"@odata.id":          st,
		"Id":                 "1",
		"Name":               "Local Storage Controller",
		"Description":        "System SATA (same devices as SimpleStorage/1)",
		"Status":             map[string]any{"State": "Enabled", "Health": "OK"},
		"Drives":             drives,
		"Drives@odata.count": len(drives),
	})
	return nil
}

func (s *Server) putJSON(uri string, m map[string]any) {
	b, err := json.MarshalIndent(m, "", "    ")
	if err != nil {
		panic(err)
	}
	s.tree[uri] = b
}
