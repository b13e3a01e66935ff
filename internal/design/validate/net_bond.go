package validate

import (
	"strings"

	"github.com/drydock-go/drydock/internal/design"
)

func init() {
	register(&Rule{
		Code:    "DD1006",
		Slug:    "net.bond",
		Name:    "Network Bond Rationality",
		Summary: "Bond options suit the bonding mode: none when bonding is disabled; on 802.3ad the up and down delays are at least the mon rate; hash and peer rate only on 802.3ad.",
		Example: "Up delay 50 is less than mon rate 150 (NetworkLink gp)",
		Check:   checkBond,
	})
}

func checkBond(c *Context) {
	for _, l := range c.design().NetworkLinks {
		switch l.BondingMode {
		case design.BondDisabled:
			var given []string
			if l.MonRate != nil {
				given = append(given, "mon_rate")
			}
			if l.UpDelay != nil {
				given = append(given, "up_delay")
			}
			if l.DownDelay != nil {
				given = append(given, "down_delay")
			}
			if l.Hash != nil {
				given = append(given, "hash")
			}
			if l.PeerRate != nil {
				given = append(given, "peer_rate")
			}
			if len(given) > 0 {
				c.Errorf("Enable a bonding mode or remove the bond options.", docs(l.Ref),
					"If bonding mode is disabled no other bond option can be specified (NetworkLink %s sets %s)", l.Name, strings.Join(given, ", "))
			}
		case design.Bond8023ad:
			mon := l.EffectiveMonRate()
			if up := l.EffectiveUpDelay(); up < mon {
				c.Errorf("Link up delay must be equal or greater than the mon_rate", docs(l.Ref), "Up delay %d is less than mon rate %d (NetworkLink %s)", up, mon, l.Name)
			}
			if down := l.EffectiveDownDelay(); down < mon {
				c.Errorf("Link down delay must be equal or greater than the mon_rate", docs(l.Ref), "Down delay %d is less than mon rate %d (NetworkLink %s)", down, mon, l.Name)
			}
		case design.BondActiveBackup, design.BondBalanceRR:
			if l.Hash != nil {
				c.Errorf("Hash mode is only applicable to LACP (802.3ad)", docs(l.Ref), "Hash cannot be defined if bond mode is %s (NetworkLink %s)", l.BondingMode, l.Name)
			}
			if l.PeerRate != nil {
				c.Errorf("Peer rate is only applicable to LACP (802.3ad)", docs(l.Ref), "Peer rate cannot be defined if bond mode is %s (NetworkLink %s)", l.BondingMode, l.Name)
			}
		}
	}
}
