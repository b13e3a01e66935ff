package app

import (
	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/ipmi"
	"github.com/drydock-go/drydock/internal/driver/libvirt"
	"github.com/drydock-go/drydock/internal/driver/manual"
	"github.com/drydock-go/drydock/internal/driver/oob"
	"github.com/drydock-go/drydock/internal/driver/redfish"
)

// oobConfig turns the configuration's oob section into the shared driver settings.
func oobConfig(c config.OOB) oob.Config {
	return oob.Config{PowerTimeout: c.PowerTimeout.D(), PollInterval: c.PollInterval.D(), Attempts: c.Attempts,
		Backoff: c.Backoff.D(), RequestTimeout: c.RequestTimeout.D(), MaxConcurrent: c.MaxConcurrent}
}

// OOBProtocols is the registry of the real OOB drivers: one Protocol per oob.type that talks
// to a BMC or hypervisor (manual needs none).
func OOBProtocols(c config.OOB) []oob.Protocol {
	rf := redfish.New()
	rf.UseTLS = !c.Redfish.HTTP
	rf.CAFile, rf.Insecure, rf.Session = c.Redfish.CAFile, c.Redfish.Insecure, !c.Redfish.BasicAuth
	return []oob.Protocol{
		&ipmi.Protocol{CipherSuite: c.IPMI.CipherSuite},
		rf,
		libvirtProtocol(c.Libvirt),
	}
}

// RealOOBDrivers returns the OOB drivers by oob.type for drivers.oob: real.
func RealOOBDrivers(c config.OOB) map[string]driver.OOBDriver {
	out := map[string]driver.OOBDriver{"manual": manual.Driver{}}
	cfg := oobConfig(c)
	for _, p := range OOBProtocols(c) {
		out[p.Type()] = oob.New(p, cfg)
	}
	return out
}

func libvirtProtocol(c config.OOBLibvirt) oob.Protocol {
	return &libvirt.Protocol{Socket: c.Socket, SSHKeyFile: c.SSHKeyFile, SSHKnownHosts: c.SSHKnownHosts, SSHInsecure: c.SSHInsecure}
}
