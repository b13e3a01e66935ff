package libvirt

import (
	"context"
	"fmt"
	"strings"
	"time"

	lv "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// session is an open connection to the node's hypervisor, bound to its domain.
type session struct {
	p    *Protocol
	t    oob.Target
	ep   endpoint
	name string // the domain's name
	c    *conn
	dom  lv.Domain
}

var _ oob.Session = (*session)(nil)

// connect (re)opens the connection and looks the domain up.
func (s *session) connect(ctx context.Context) error {
	if s.c != nil {
		_ = s.c.close()
		s.c = nil
	}
	c, err := s.p.dial(ctx, s.t, s.ep)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.raw.Close() })
	dom, err := c.l.DomainLookupByName(s.name)
	if !stop() {
		c.raw.Close()
		return fmt.Errorf("libvirt %s: looking up domain %q: %w", s.ep, s.name, context.Cause(ctx))
	}
	if err != nil {
		_ = c.close()
		if isCode(err, lv.ErrNoDomain) {
			return oob.Refused(fmt.Errorf("libvirt %s: domain %q not found (the domain is named like the node unless oob_parameters domain says otherwise): %w", s.ep, s.name, err))
		}
		return classify(fmt.Sprintf("libvirt %s: looking up domain %q", s.ep, s.name), err)
	}
	s.c, s.dom = c, dom
	return nil
}

// do runs one or more libvirt calls bounded by ctx, reconnecting first when the connection
// was lost. When ctx ends during a call the connection is closed, which interrupts it.
func (s *session) do(ctx context.Context, what string, fn func(l *lv.Libvirt) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("domain %s: %s: %w", s.name, what, context.Cause(ctx))
	}
	if s.c == nil || !s.c.l.IsConnected() {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	raw := s.c.raw
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	err := fn(s.c.l)
	if !stop() {
		return fmt.Errorf("domain %s: %s: %w (connection closed)", s.name, what, context.Cause(ctx))
	}
	return classify(fmt.Sprintf("domain %s: %s", s.name, what), err)
}

// active reads whether the domain is on: running, blocked, paused, shutting down or
// suspended by the guest are on; shut off and crashed are off.
func active(l *lv.Libvirt, dom lv.Domain) (bool, error) {
	st, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return false, err
	}
	switch lv.DomainState(st) {
	case lv.DomainShutoff, lv.DomainCrashed:
		return false, nil
	case lv.DomainNostate:
		a, err := l.DomainIsActive(dom)
		return a == 1, err
	}
	return true, nil
}

// PowerState is on when the domain is active, off otherwise.
func (s *session) PowerState(ctx context.Context) (string, error) {
	var on bool
	err := s.do(ctx, "reading the state", func(l *lv.Libvirt) error {
		var err error
		on, err = active(l, s.dom)
		return err
	})
	if err != nil {
		return "", err
	}
	if on {
		return oob.On, nil
	}
	return oob.Off, nil
}

// SetPower starts the domain (with the one-time boot order when one is pending) or destroys
// it. Asking for the state it is in does nothing.
func (s *session) SetPower(ctx context.Context, on bool) error {
	if !on {
		return s.do(ctx, "power off (destroy)", func(l *lv.Libvirt) error {
			err := l.DomainDestroy(s.dom)
			if isCode(err, lv.ErrOperationInvalid) {
				if a, aerr := active(l, s.dom); aerr == nil && !a {
					return nil // it was already off
				}
			}
			return err
		})
	}
	return s.do(ctx, "power on", func(l *lv.Libvirt) error {
		if a, err := active(l, s.dom); err != nil || a {
			return err
		}
		req, ok, err := pendingBoot(l, s.dom)
		if err != nil {
			return err
		}
		if !ok {
			err := l.DomainCreate(s.dom)
			if isCode(err, lv.ErrOperationInvalid) {
				if a, aerr := active(l, s.dom); aerr == nil && a {
					return nil // started meanwhile
				}
			}
			return err
		}
		def, err := l.DomainGetXMLDesc(s.dom, lv.DomainXMLInactive|lv.DomainXMLSecure)
		if err != nil {
			return fmt.Errorf("reading the persistent definition: %w", err)
		}
		once, _, err := oneTimeDefinition(def, req.Dev, req.MAC)
		if err != nil {
			return oob.Refused(fmt.Errorf("one-time boot from %s: %w", req.Dev, err))
		}
		// The same name and UUID: libvirt starts the persistent domain with this definition
		// as its live one and keeps the persistent definition as it is.
		if _, err := l.DomainCreateXML(once, 0); err != nil {
			return fmt.Errorf("starting with the one-time boot order (%s first): %w", req.Dev, err)
		}
		if err := clearBoot(l, s.dom); err != nil {
			return fmt.Errorf("started with the one-time boot order, but removing the request from the persistent definition failed (the next power on will boot from %s again): %w", req.Dev, err)
		}
		return nil
	})
}

// pendingBoot reads the pending one-time boot request from the persistent definition.
func pendingBoot(l *lv.Libvirt, dom lv.Domain) (bootRequest, bool, error) {
	md, err := l.DomainGetMetadata(dom, int32(lv.DomainMetadataElement), lv.OptString{MetadataNS}, lv.DomainAffectConfig)
	if isCode(err, lv.ErrNoDomainMetadata) {
		return bootRequest{}, false, nil
	}
	if err != nil {
		return bootRequest{}, false, fmt.Errorf("reading the pending one-time boot: %w", err)
	}
	r, err := parseBootRequest(md)
	if err != nil {
		return r, false, oob.Refused(err)
	}
	return r, true, nil
}

func clearBoot(l *lv.Libvirt, dom lv.Domain) error {
	return l.DomainSetMetadata(dom, int32(lv.DomainMetadataElement), nil, nil, lv.OptString{MetadataNS}, lv.DomainAffectConfig)
}

// SetNextBoot records a one-time boot from the network (from the NIC with the node's boot
// MAC) or from the first disk, for the next power on; see the package documentation.
func (s *session) SetNextBoot(ctx context.Context, dev driver.BootDevice) error {
	var req bootRequest
	switch dev {
	case driver.BootPXE:
		req = bootRequest{Dev: devNetwork, MAC: strings.ToLower(s.t.BootMAC)}
	case driver.BootDisk:
		req = bootRequest{Dev: devDisk}
	default:
		return oob.Refused(fmt.Errorf("domain %s: boot device %q is not supported (pxe or disk)", s.name, dev))
	}
	req.Requested = time.Now().UTC().Format(time.RFC3339)
	return s.do(ctx, "set the one-time boot from "+string(dev), func(l *lv.Libvirt) error {
		persistent, err := l.DomainIsPersistent(s.dom)
		if err != nil {
			return err
		}
		if persistent != 1 {
			return oob.Refused(fmt.Errorf("the domain is transient (not defined): it has no next boot, only its running one"))
		}
		def, err := l.DomainGetXMLDesc(s.dom, lv.DomainXMLInactive)
		if err != nil {
			return fmt.Errorf("reading the persistent definition: %w", err)
		}
		// Check now that the one-time definition can be built, so a wrong boot MAC fails here.
		if _, _, err := oneTimeDefinition(def, req.Dev, req.MAC); err != nil {
			return oob.Refused(err)
		}
		return l.DomainSetMetadata(s.dom, int32(lv.DomainMetadataElement), lv.OptString{req.marshal()},
			lv.OptString{MetadataKey}, lv.OptString{MetadataNS}, lv.DomainAffectConfig)
	})
}

// Inventory describes the domain from its definition (the live one when it runs): vCPUs,
// memory, NICs and their networks, disks, its own boot order and any pending one-time boot.
func (s *session) Inventory(ctx context.Context) (map[string]any, error) {
	var inv map[string]any
	err := s.do(ctx, "reading the definition", func(l *lv.Libvirt) error {
		x, err := l.DomainGetXMLDesc(s.dom, 0)
		if err != nil {
			return err
		}
		var d libvirtxml.Domain
		if err := d.Unmarshal(x); err != nil {
			return oob.Refused(fmt.Errorf("reading the definition: %v", err))
		}
		inv = inventory(&d)
		persistent, err := l.DomainIsPersistent(s.dom)
		if err != nil {
			return err
		}
		inv["persistent"] = persistent == 1
		if persistent == 1 {
			px, err := l.DomainGetXMLDesc(s.dom, lv.DomainXMLInactive)
			if err != nil {
				return err
			}
			var pd libvirtxml.Domain
			if err := pd.Unmarshal(px); err == nil {
				inv["boot_order"] = describeOrder(&pd)
			}
			req, ok, err := pendingBoot(l, s.dom)
			if err != nil {
				return err
			}
			if ok {
				inv["next_boot"] = map[string]any{"device": req.Dev, "mac": req.MAC, "requested": req.Requested}
			}
		}
		// Disk sizes, where libvirt can tell (file and block sources).
		if disks, ok := inv["disks"].([]map[string]any); ok {
			for _, dk := range disks {
				if name, _ := dk["name"].(string); name != "" && dk["source"] != nil {
					if _, capacity, _, err := l.DomainGetBlockInfo(s.dom, name, 0); err == nil {
						dk["size_bytes"] = capacity
					}
				}
			}
		}
		return nil
	})
	return inv, err
}

// inventory reads what a definition says of the machine.
func inventory(d *libvirtxml.Domain) map[string]any {
	inv := map[string]any{"domain": d.Name, "uuid": d.UUID, "hypervisor": d.Type}
	if d.VCPU != nil {
		n := d.VCPU.Value
		if d.VCPU.Current > 0 {
			n = d.VCPU.Current
		}
		inv["cpu_count"] = int(n)
	}
	if d.Memory != nil {
		inv["memory_mib"] = toMiB(d.Memory.Value, d.Memory.Unit)
	}
	nics := []map[string]any{}
	disks := []map[string]any{}
	if d.Devices != nil {
		for _, n := range d.Devices.Interfaces {
			nic := map[string]any{}
			if n.MAC != nil {
				nic["mac"] = strings.ToLower(n.MAC.Address)
			}
			if n.Target != nil && n.Target.Dev != "" {
				nic["name"] = n.Target.Dev
			} else if n.Alias != nil && n.Alias.Name != "" {
				nic["name"] = n.Alias.Name
			}
			if n.Model != nil {
				nic["model"] = n.Model.Type
			}
			if src := n.Source; src != nil {
				switch {
				case src.Network != nil:
					nic["type"], nic["network"] = "network", src.Network.Network
					if src.Network.PortGroup != "" {
						nic["portgroup"] = src.Network.PortGroup
					}
				case src.Bridge != nil:
					nic["type"], nic["network"] = "bridge", src.Bridge.Bridge
				case src.Direct != nil:
					nic["type"], nic["network"] = "direct", src.Direct.Dev
				case src.User != nil:
					nic["type"], nic["network"] = "user", "user-mode (slirp)"
				case src.Ethernet != nil:
					nic["type"] = "ethernet"
				case src.VHostUser != nil:
					nic["type"] = "vhostuser"
				case src.Hostdev != nil:
					nic["type"] = "hostdev"
				}
			}
			nics = append(nics, nic)
		}
		for _, dk := range d.Devices.Disks {
			disk := map[string]any{"device": dk.Device}
			if dk.Device == "" {
				disk["device"] = "disk"
			}
			if dk.Target != nil {
				disk["name"] = dk.Target.Dev
				if dk.Target.Bus != "" {
					disk["bus"] = dk.Target.Bus
				}
			}
			if src := dk.Source; src != nil {
				switch {
				case src.File != nil && src.File.File != "":
					disk["source"] = src.File.File
				case src.Block != nil && src.Block.Dev != "":
					disk["source"] = src.Block.Dev
				case src.Volume != nil:
					disk["source"] = src.Volume.Pool + "/" + src.Volume.Volume
				case src.Network != nil:
					disk["source"] = src.Network.Protocol + ":" + src.Network.Name
				}
			}
			disks = append(disks, disk)
		}
	}
	inv["nics"] = nics
	inv["disks"] = disks
	return inv
}

// toMiB converts a libvirt memory size (unit default KiB) to MiB.
func toMiB(v uint, unit string) int64 {
	n := int64(v)
	switch strings.ToLower(unit) {
	case "b", "bytes":
		return n >> 20
	case "kb":
		return n * 1000 >> 20
	case "", "k", "kib":
		return n >> 10
	case "mb":
		return n * 1000 * 1000 >> 20
	case "m", "mib":
		return n
	case "gb":
		return n * 1000 * 1000 * 1000 >> 20
	case "g", "gib":
		return n << 10
	case "tb":
		return n * 1000 * 1000 * 1000 * 1000 >> 20
	case "t", "tib":
		return n << 20
	}
	return n >> 10
}

// Close ends the connection.
func (s *session) Close() error {
	err := s.c.close()
	s.c = nil
	return err
}
