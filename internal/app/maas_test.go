package app

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/config"
	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
)

// drivers.node: maas opens the MAAS driver; with sim.boot_actions: report the deployed
// machines' OS is played (they are simulated: drydock sim maas), otherwise not.
func TestOpenWithMAAS(t *testing.T) {
	emu := maassim.New(maassim.Config{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	for _, mode := range []string{"", "report"} {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Drivers.Node = "maas"
		cfg.MAAS = config.MAAS{URL: srv.URL + "/MAAS", APIKey: emu.APIKey()}
		cfg.Sim.BootActions = mode
		a, err := Open(context.Background(), cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if (a.Nodes != nil) != (mode == "report") {
			t.Errorf("sim.boot_actions %q: agent %v", mode, a.Nodes)
		}
		if err := a.Drivers.Node.(driver.HealthChecker).CheckHealth(context.Background()); err != nil {
			t.Errorf("MAAS health through the wrapped driver: %v", err)
		}
		a.Close()
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Drivers.Node = "maas"
	cfg.MAAS = config.MAAS{URL: srv.URL + "/MAAS"}
	t.Setenv(EnvMAASAPIKey, "")
	if _, err := Open(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "API key") {
		t.Errorf("no key: %v", err)
	}
}

type listed []driver.Machine

func (l listed) Machines(context.Context) ([]driver.Machine, error) { return l, nil }

type failing struct{}

func (failing) Machines(context.Context) ([]driver.Machine, error) { return nil, errors.New("down") }

func TestDeployedIn(t *testing.T) {
	d := deployedIn(listed{{Hostname: "a", Status: "Deployed"}, {Hostname: "b", Status: "Deploying"}})
	if !d("a") || d("b") || d("c") {
		t.Error("deployedIn misreads the machine list")
	}
	if deployedIn(failing{})("a") {
		t.Error("an unreadable list says deployed")
	}
}
