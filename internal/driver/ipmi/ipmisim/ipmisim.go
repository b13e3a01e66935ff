// Package ipmisim is an in-process IPMI BMC for tests and the simulated site: a real IPMI v2.0
// (RMCP+, "lanplus") and v1.5 LAN server on a loopback UDP port, built on the reference BMC of
// github.com/bougou/go-ipmi (pkg/server, pkg/bmc) with a hardware layer that forwards chassis
// commands to a Chassis. Any IPMI client works against it: the ipmi driver, go-ipmi, ipmitool
// (with or without -C).
//
// A Chassis is the machine behind the BMC: its power and its next boot device. NewMemoryChassis
// gives one that lives in memory and records every change as an event; the simulated site plugs
// in its own machines.
//
// What the BMC does with each request:
//
//   - Get Chassis Status reports Chassis.PowerOn;
//   - Chassis Control power up / power down call Chassis.SetPower(true/false); soft shutdown is
//     SetPower(false); power cycle calls PowerCycle when the Chassis implements PowerCycler, and
//     otherwise powers off then on (or just on when the machine is off, as ipmi_sim and many
//     BMCs do); hard reset is the same as a power cycle while the power is on, and answers 0xD5
//     (not supported in the present state) while it is off;
//   - Set System Boot Options boot flags (parameter 5) call Chassis.SetBootDevice with "pxe",
//     "disk", "cdrom", "bios", ... and whether the setting is persistent; flags without the
//     valid bit set "none"; Get System Boot Options reads Chassis.BootDevice back (valid bit
//     set when a device is chosen);
//   - Get Device ID, the FRU inventory (device 0, see WithFRU) and user, session and channel
//     commands are go-ipmi's.
//
// A Chassis method that returns an error makes the BMC answer with completion code 0xFF
// (unspecified error), or with the code itself when the error is a go-ipmi
// types.CompletionCode (e.g. types.CodeNodeBusy).
//
// The BMC listens on loopback only (Start refuses any other address) and serves until its
// context ends or Close is called.
package ipmisim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/hal"
	"github.com/bougou/go-ipmi/pkg/hal/mock"
	"github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/transport/udp"
	"github.com/bougou/go-ipmi/pkg/types"
)

// Chassis is the machine a BMC manages. Its methods may be called from several goroutines at
// once.
type Chassis interface {
	// PowerOn reports whether the machine is powered on.
	PowerOn() bool
	// SetPower powers the machine on or off (hard).
	SetPower(on bool) error
	// BootDevice is the next boot device: "pxe", "disk", "cdrom", "bios", ..., or "none" (or "")
	// when no override is set.
	BootDevice() string
	// SetBootDevice sets the next boot device; persistent is false for the next boot only.
	SetBootDevice(dev string, persistent bool) error
}

// PowerCycler is implemented by a Chassis that performs a power cycle itself (Chassis Control
// power cycle); otherwise the BMC calls SetPower(false) then SetPower(true).
type PowerCycler interface {
	PowerCycle() error
}

// Boot devices, as Chassis.SetBootDevice receives them.
const (
	BootNone  = "none"
	BootPXE   = "pxe"
	BootDisk  = "disk"
	BootCDROM = "cdrom"
	BootBIOS  = "bios"
)

// bootDevices maps the boot device selectors of Set System Boot Options (IPMI v2.0 table
// 28-14, parameter 5, data 2 bits 5:2) to device names.
var bootDevices = map[types.BootDeviceSelector]string{
	types.BootDeviceSelectorNoOverride:               BootNone,
	types.BootDeviceSelectorForcePXE:                 BootPXE,
	types.BootDeviceSelectorForceHardDrive:           BootDisk,
	types.BootDeviceSelectorForceHardDriveSafe:       "disk-safe",
	types.BootDeviceSelectorForceDiagnosticPartition: "diagnostic",
	types.BootDeviceSelectorForceCDROM:               BootCDROM,
	types.BootDeviceSelectorForceBIOSSetup:           BootBIOS,
	types.BootDeviceSelectorForceRemoteFloppy:        "remote-floppy",
	types.BootDeviceSelectorForceRemoteCDROM:         "remote-cdrom",
	types.BootDeviceSelectorForceRemoteMedia:         "remote-media",
	types.BootDeviceSelectorForceRemoteHardDrive:     "remote-disk",
	types.BootDeviceSelectorForceFloppy:              "floppy",
}

// FRU is the inventory the BMC's FRU device 0 holds (board and product areas).
type FRU struct {
	Manufacturer string // board and product manufacturer
	Product      string // board and product name
	Serial       string // board and product serial number
	PartNumber   string // board part number and product model
}

// Option tunes a BMC.
type Option func(*config)

type config struct {
	fru    *FRU
	fruSet bool
	info   bmc.DeviceInfo
}

// WithFRU sets the BMC's FRU inventory; nil leaves the BMC without a FRU device (Get FRU
// Inventory Area Info answers 0xCB, data not present). The default is manufacturer "Drydock",
// product "ipmisim", serial "SIM-<port>", part number "IPMISIM-1".
func WithFRU(f *FRU) Option {
	return func(c *config) { c.fru, c.fruSet = f, true }
}

// WithDeviceInfo sets what Get Device ID answers. The default is firmware 1.05, IPMI 2.0,
// manufacturer 7154 (the IPMI forum's IANA number), product 0x0d0c.
func WithDeviceInfo(info bmc.DeviceInfo) Option {
	return func(c *config) { c.info = info }
}

// BMC is a running simulated BMC.
type BMC struct {
	addr   *net.UDPAddr
	srv    *server.Server
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Start serves a BMC for ch on addr (host:port; "" means 127.0.0.1:0, a free port on loopback)
// with one administrator account user/password (user 1-16 bytes, password up to 20). It
// serves until ctx ends or Close is called.
func Start(ctx context.Context, addr, user, password string, ch Chassis, opts ...Option) (*BMC, error) {
	if ch == nil {
		return nil, errors.New("ipmisim: no chassis")
	}
	if user == "" || len(user) > 16 {
		return nil, fmt.Errorf("ipmisim: user name must be 1 to 16 bytes, got %d", len(user))
	}
	if len(password) > bmc.MaxPasswordLen {
		return nil, fmt.Errorf("ipmisim: password must be at most %d bytes", bmc.MaxPasswordLen)
	}
	ua, err := loopbackAddr(addr)
	if err != nil {
		return nil, err
	}
	cfg := config{info: bmc.DeviceInfo{
		DeviceID:       0x20,
		DeviceRevision: 1,
		FirmwareMajor:  1,
		FirmwareMinor:  0x05,
		IPMIVersion:    0x02,
		ManufacturerID: 7154,
		ProductID:      0x0d0c,
		// chassis device, FRU inventory, SEL, SDR repository
		AdditionalDeviceSupport: 0x80 | 0x08 | 0x04 | 0x02,
	}}
	for _, o := range opts {
		o(&cfg)
	}

	uc, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("ipmisim: %w", err)
	}
	bound := uc.LocalAddr().(*net.UDPAddr)
	if !cfg.fruSet {
		cfg.fru = &FRU{Manufacturer: "Drydock", Product: "ipmisim", Serial: "SIM-" + strconv.Itoa(bound.Port), PartNumber: "IPMISIM-1"}
	}

	h := &chassisHAL{ch: ch, storage: &mock.Storage{}}
	if cfg.fru != nil {
		blob, err := types.PackFRUInventory(fruInventory(cfg.fru))
		if err != nil {
			uc.Close()
			return nil, fmt.Errorf("ipmisim: FRU: %w", err)
		}
		if err := h.storage.FRU().Write(ctx, 0, blob); err != nil {
			uc.Close()
			return nil, fmt.Errorf("ipmisim: FRU: %w", err)
		}
	}

	var guid [16]byte
	_, _ = rand.Read(guid[:])
	b := bmc.New(cfg.info, guid, h)
	u, err := b.Users.Add(2, user)
	if err != nil {
		uc.Close()
		return nil, fmt.Errorf("ipmisim: user: %w", err)
	}
	u.SetPassword([]byte(password))
	u.Enabled = true
	u.ChannelAccess[1] = bmc.UserChannelAccess{MaxPrivilege: bmc.PrivilegeLevelAdministrator, Enabled: true}

	// No read timeout: Close unblocks the read loop.
	srv := server.NewServer(b, udp.Wrap(uc, udp.WithReadTimeout(0)))
	sctx, cancel := context.WithCancel(ctx)
	s := &BMC{addr: bound, srv: srv, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = srv.Serve(sctx)
	}()
	go func() {
		<-sctx.Done()
		_ = srv.Close()
	}()
	return s, nil
}

// loopbackAddr resolves addr and refuses anything but a loopback address.
func loopbackAddr(addr string) (*net.UDPAddr, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("ipmisim: address %q: %w", addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("ipmisim: address %q: only loopback addresses (127.0.0.0/8, ::1) are allowed", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("ipmisim: address %q: bad port", addr)
	}
	return &net.UDPAddr{IP: ip, Port: p}, nil
}

// Addr is the bound address, host:port.
func (s *BMC) Addr() string { return s.addr.String() }

// Host is the bound IP address.
func (s *BMC) Host() string { return s.addr.IP.String() }

// Port is the bound UDP port.
func (s *BMC) Port() int { return s.addr.Port }

// Close stops the BMC and waits until it no longer reads requests.
func (s *BMC) Close() error {
	s.once.Do(func() {
		s.cancel()
		_ = s.srv.Close()
		<-s.done
	})
	return nil
}

func fruInventory(f *FRU) *types.FRU {
	return &types.FRU{
		BoardInfoArea: &types.FRUBoardInfoArea{
			LanguageCode: 0x19, // English
			Manufacturer: []byte(f.Manufacturer),
			ProductName:  []byte(f.Product),
			SerialNumber: []byte(f.Serial),
			PartNumber:   []byte(f.PartNumber),
		},
		ProductInfoArea: &types.FRUProductInfoArea{
			LanguageCode: 0x19,
			Manufacturer: []byte(f.Manufacturer),
			Name:         []byte(f.Product),
			PartModel:    []byte(f.PartNumber),
			Version:      []byte("1"),
			SerialNumber: []byte(f.Serial),
		},
	}
}

// chassisHAL is the go-ipmi hardware layer: chassis commands go to the Chassis, the FRU
// inventory is in memory, and there are no sensors, GPIOs, I2C buses or serial console.
type chassisHAL struct {
	ch      Chassis
	storage *mock.Storage

	mu          sync.Mutex
	persistent  bool // of the last boot flags set
	efi         bool
	bootInfoAck *types.BootOptionParam_BootInfoAcknowledge
}

var _ hal.HAL = (*chassisHAL)(nil)
var _ hal.ChassisHAL = (*chassisHAL)(nil)

func (h *chassisHAL) Chassis() hal.ChassisHAL { return h }
func (h *chassisHAL) Sensors() hal.SensorHAL  { return nil }
func (h *chassisHAL) Storage() hal.StorageHAL { return h.storage }
func (h *chassisHAL) Network() hal.NetworkHAL { return nil }
func (h *chassisHAL) GPIO() hal.GPIOHAL       { return nil }
func (h *chassisHAL) I2C() hal.I2CHAL         { return nil }
func (h *chassisHAL) Console() hal.ConsoleHAL { return nil }
func (h *chassisHAL) Close() error            { return nil }

func (h *chassisHAL) PowerState(context.Context) (bool, error) { return h.ch.PowerOn(), nil }

func (h *chassisHAL) SetPower(_ context.Context, on bool) error { return h.ch.SetPower(on) }

func (h *chassisHAL) PowerCycle(context.Context) error {
	if c, ok := h.ch.(PowerCycler); ok {
		return c.PowerCycle()
	}
	if h.ch.PowerOn() {
		if err := h.ch.SetPower(false); err != nil {
			return err
		}
	}
	return h.ch.SetPower(true)
}

// ColdReset is Chassis Control hard reset.
func (h *chassisHAL) ColdReset(ctx context.Context) error {
	if !h.ch.PowerOn() {
		return types.CodeNotSupported // 0xD5: not supported in the present state
	}
	return h.PowerCycle(ctx)
}

// WarmReset is Chassis Control soft shutdown (ACPI soft off).
func (h *chassisHAL) WarmReset(context.Context) error { return h.ch.SetPower(false) }

func (h *chassisHAL) Identify(context.Context, uint8) error { return nil }

func (h *chassisHAL) IntrusionState(context.Context) (bool, error) { return false, nil }

func (h *chassisHAL) SetBootFlags(_ context.Context, f *types.BootOptionParam_BootFlags) error {
	if f == nil {
		return hal.ErrNotSupported
	}
	dev := BootNone
	if f.BootFlagsValid {
		d, ok := bootDevices[f.BootDeviceSelector]
		if !ok {
			return types.CodeParameterOutOfRange
		}
		dev = d
	}
	if err := h.ch.SetBootDevice(dev, f.BootFlagsValid && f.Persist); err != nil {
		return err
	}
	h.mu.Lock()
	h.persistent, h.efi = f.BootFlagsValid && f.Persist, f.BIOSBootType == types.BIOSBootTypeEFI
	h.mu.Unlock()
	return nil
}

func (h *chassisHAL) GetBootFlags(context.Context) (*types.BootOptionParam_BootFlags, error) {
	dev := h.ch.BootDevice()
	f := &types.BootOptionParam_BootFlags{}
	if dev == "" || dev == BootNone {
		return f, nil
	}
	for sel, name := range bootDevices {
		if name == dev {
			f.BootDeviceSelector = sel
		}
	}
	h.mu.Lock()
	f.BootFlagsValid, f.Persist, f.BIOSBootType = true, h.persistent, types.BIOSBootType(h.efi)
	h.mu.Unlock()
	return f, nil
}

func (h *chassisHAL) SetBootInfoAcknowledge(_ context.Context, ack *types.BootOptionParam_BootInfoAcknowledge) error {
	if ack == nil {
		return hal.ErrNotSupported
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cp := *ack
	h.bootInfoAck = &cp
	return nil
}

func (h *chassisHAL) GetBootInfoAcknowledge(context.Context) (*types.BootOptionParam_BootInfoAcknowledge, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bootInfoAck == nil {
		return &types.BootOptionParam_BootInfoAcknowledge{}, nil
	}
	cp := *h.bootInfoAck
	return &cp, nil
}
