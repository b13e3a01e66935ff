package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs the newcomer's command: every action succeeds on the example site, and the
// simulated nodes report their boot actions through the API.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole sequence")
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"simulated provisioner", []string{"demo"}, []string{"deploy_nodes     success", "Simulated machines", "boot actions: 4 success, 3 unreported"}},
		{"MAAS driver and emulator", []string{"demo", "--provisioner", "maas"}, []string{"deploy_nodes     success",
			"MAAS (emulated)", "driven by the real MAAS driver", "boot actions: 4 success, 3 unreported"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			text := out.String()
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, text, errb.String())
			}
			// Each of the four machines is listed once, deployed.
			if n := strings.Count(text, " Deployed "); n != 4 {
				t.Errorf("%d machines Deployed\n%s", n, text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("no %q in\n%s", w, text)
				}
			}
		})
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--provisioner", "ironic"}, &out, &errb); code != 2 {
		t.Errorf("--provisioner ironic: exit %d", code)
	}
}
