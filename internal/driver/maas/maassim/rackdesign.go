package maassim

import (
	"fmt"
	"strconv"

	"github.com/drydock-go/drydock/internal/design"
)

// RackFor is a healthy rack controller cabled to every network of the design that hands out
// addresses by DHCP (the provisioning networks), as a real site's rack controller is: MAAS
// then knows those subnets, and prepare_site can turn DHCP on where the design wants it.
func RackFor(ds *design.Site) RackSpec {
	rack := RackSpec{Hostname: "maas-rack"}
	if ds != nil && ds.Design != nil {
		for _, n := range ds.Design.Networks {
			dhcp := false
			for _, r := range n.Ranges {
				dhcp = dhcp || r.Type == "dhcp"
			}
			if !dhcp || n.CIDR == "" {
				continue
			}
			vid, _ := strconv.Atoi(n.VLAN)
			i := len(rack.Interfaces)
			rack.Interfaces = append(rack.Interfaces, RackNIC{Name: fmt.Sprintf("eth%d", i),
				MAC: fmt.Sprintf("52:54:00:ff:00:%02x", i+1), CIDR: n.CIDR, VID: vid})
		}
	}
	if len(rack.Interfaces) == 0 {
		rack.Interfaces = []RackNIC{{Name: "eth0"}}
	}
	return rack
}
