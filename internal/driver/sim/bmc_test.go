package sim

import (
	"context"
	"testing"
	"time"

	"github.com/drydock-go/drydock/internal/design"
)

func TestBMCPowerOnWithPXEStartsEnlistment(t *testing.T) {
	s, err := Open(t.TempDir()+"/sim.db", Config{Latency: map[Kind]time.Duration{Enlist: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := &design.Node{Name: "n1", BootMAC: "52:54:00:00:00:01"}
	b, err := s.BMC(n)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if b.PowerOn() || b.NextBoot() != "disk" {
		t.Fatalf("new machine: on=%v next=%s", b.PowerOn(), b.NextBoot())
	}
	if err := b.SetNextBoot(ctx, "pxe"); err != nil {
		t.Fatal(err)
	}
	if err := b.SetNextBoot(ctx, "cdrom"); err == nil {
		t.Error("an unsupported boot device was accepted")
	}
	if err := b.SetPower(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !b.PowerOn() || b.NextBoot() != "disk" {
		t.Fatalf("after power on: on=%v next=%s (the one-time PXE boot must be consumed)", b.PowerOn(), b.NextBoot())
	}
	m, _ := s.Machine("n1")
	if m.SystemID == "" || m.Op != Enlist {
		t.Errorf("PXE boot did not start enlistment: %+v", m)
	}
	if err := b.SetPower(ctx, true); err != nil { // already on: nothing logged
		t.Fatal(err)
	}
	if err := b.SetPower(ctx, false); err != nil || b.PowerOn() {
		t.Fatalf("power off: %v on=%v", err, b.PowerOn())
	}
	ops, _ := s.Log(ctx, "n1")
	var kinds []string
	for _, op := range ops {
		kinds = append(kinds, op.Operation)
	}
	want := []string{LogCreate, LogSetBoot, LogPowerOn, LogPowerOff}
	if len(kinds) != len(want) {
		t.Fatalf("log %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("log %v, want %v", kinds, want)
		}
	}
}
