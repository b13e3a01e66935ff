package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/driver/maas/maassim"
	"github.com/drydock-go/drydock/internal/driver/sim"
)

// newSimMaasCmd is `drydock sim maas`: the MAAS API 2.0 emulator (package maassim) with the
// machines of a design's nodes, served until interrupted.
func newSimMaasCmd() *cobra.Command {
	var (
		ff                 fetchFlags
		designRef, listen  string
		keyFile            string
		commission, deploy time.Duration
	)
	cmd := &cobra.Command{
		Use:   "maas --design DESIGN_REF",
		Short: "Serve a MAAS API 2.0 emulator whose machines are a design's nodes",
		Long: `Serve an emulator of Canonical MAAS's REST API 2.0 until interrupted: MAAS's request format
(OAuth 1.0 PLAINTEXT, op=, multipart), response shapes, machine statuses and transitions, and
errors. Every node of the design is a machine enlisted in status New, with the NICs and disks
of its simulated machine; commissioning and deploying power it on through its simulated BMC.
Its rack controller is cabled to the design's DHCP networks.

The API key is written to --api-key-file (mode 0600); point the MAAS driver at the printed URL
with that key (maas.url, maas.api_key_file).`,
		Example: `  drydock sim maas --design examples/site --listen 127.0.0.1:5240 --api-key-file maas.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if designRef == "" {
				return &exitError{exitUsage, errors.New("--design is required")}
			}
			if keyFile == "" {
				return &exitError{exitUsage, errors.New("--api-key-file is required (the generated key is written there)")}
			}
			srcs, err := ff.fetch(cmd.Context(), absRef(designRef))
			if err != nil {
				return &exitError{exitUsage, err}
			}
			rep := validate.Sources(cmd.Context(), validate.Options{}, srcs...)
			if rep.Site == nil || !rep.Valid() {
				return &exitError{exitInvalid, fmt.Errorf("the design is not valid (drydock validate %s says why)", designRef)}
			}
			site, err := sim.Open("", sim.Config{}) // the machines and their BMCs, in memory
			if err != nil {
				return err
			}
			defer site.Close()
			if err := site.Ensure(rep.Site.Nodes...); err != nil {
				return err
			}
			emu := maassim.New(maassim.Config{RackControllers: []maassim.RackSpec{maassim.RackFor(rep.Site)},
				Delays: maassim.Delays{Commissioning: commission, Deploying: deploy}})
			ids, err := emu.AddDesign(site, rep.Site, rep.Site.Nodes)
			if err != nil {
				return err
			}
			if err := writeSecretFile(keyFile, emu.APIKey()+"\n"); err != nil {
				return &exitError{exitUsage, fmt.Errorf("--api-key-file: %w", err)}
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("listen %s: %w", listen, err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "MAAS API 2.0 emulator: http://%s/MAAS (API key in %s), %d machines enlisted\n",
				ln.Addr(), keyFile, len(ids))
			return emu.Serve(cmd.Context(), ln)
		},
	}
	ff.add(cmd)
	cmd.Flags().StringVarP(&designRef, "design", "d", "", "the design whose nodes become the emulator's machines")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:5240", "address to serve on (port 0: any free port)")
	cmd.Flags().StringVar(&keyFile, "api-key-file", "", "where to write the generated API key (consumer:token:secret)")
	cmd.Flags().DurationVar(&commission, "commission-time", 0, "how long commissioning takes (default: the emulator's)")
	cmd.Flags().DurationVar(&deploy, "deploy-time", 0, "how long deploying takes (default: the emulator's)")
	return cmd
}

// writeSecretFile writes data to a new file readable only by its owner.
func writeSecretFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
