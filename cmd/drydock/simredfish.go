package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/driver/redfish/redfishsim"
)

// newSimRedfishCmd is `drydock sim redfish`: a simulated Redfish BMC (see
// package redfishsim) served until interrupted.
func newSimRedfishCmd() *cobra.Command {
	var (
		listen, user, password, caFile string
		ids, macs                      []string
		systems                        int
		useTLS, requireSession         bool
		patch204, conflict, verbose    bool
		powerDelay                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "redfish",
		Short: "Serve a simulated Redfish BMC (DMTF public-rackmount1 mockup with real power and boot state)",
		Long: `Serve a simulated Redfish service with one or more systems until interrupted.

Power (ComputerSystem.Reset) and boot override (PATCH Boot) change real state;
sessions (POST /redfish/v1/SessionService/Sessions) and HTTP Basic are accepted.
With --tls the service uses a fresh self-signed certificate, written to --ca-file
so clients can trust it.`,
		Example: `  drydock sim redfish --listen 127.0.0.1:8443 --systems 4 --user admin --password secret --tls
  drydock sim redfish --ids node1,node2 --mac node1=52:54:00:12:34:01 --power-delay 2s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := redfishsim.Config{
				Systems:                systems,
				User:                   user,
				Password:               password,
				PowerDelay:             powerDelay,
				RequireSession:         requireSession,
				AlreadyInStateConflict: conflict,
			}
			for _, id := range ids {
				if id = strings.TrimSpace(id); id != "" {
					cfg.IDs = append(cfg.IDs, id)
				}
			}
			if len(macs) > 0 {
				cfg.MACs = map[string]string{}
				for _, m := range macs {
					id, mac, ok := strings.Cut(m, "=")
					if !ok {
						return &exitError{exitUsage, fmt.Errorf("--mac %q: want SYSTEM-ID=MAC", m)}
					}
					cfg.MACs[id] = mac
				}
			}
			if patch204 {
				cfg.PatchStatus = 204
			}
			if password == "" {
				return &exitError{exitUsage, fmt.Errorf("--password must not be empty")}
			}
			if err := cfg.Validate(); err != nil {
				return &exitError{exitUsage, err}
			}
			out := cmd.OutOrStdout()
			if verbose {
				cfg.Logf = func(format string, a ...any) {
					fmt.Fprintf(cmd.ErrOrStderr(), time.Now().Format("15:04:05.000 ")+format+"\n", a...)
				}
			}
			sim := redfishsim.New(cfg)
			url, stop, err := sim.Start(listen, useTLS)
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("listen %s: %w", listen, err)}
			}
			defer stop()
			fmt.Fprintf(out, "Redfish simulator serving %s/redfish/v1/ (user %s)\n", url, cfg.User)
			if useTLS {
				if caFile == "" {
					caFile = filepath.Join(os.TempDir(), "drydock-redfishsim-"+url[strings.LastIndex(url, ":")+1:]+"-ca.pem")
				}
				if err := os.WriteFile(caFile, sim.CertPEM(), 0o644); err != nil {
					return fmt.Errorf("write the CA certificate: %w", err)
				}
				fmt.Fprintf(out, "CA certificate: %s\n", caFile)
			}
			for _, id := range sim.SystemIDs() {
				s := sim.System(id)
				fmt.Fprintf(out, "system %s\t%s\tMAC %s\tserial %s\n", id, s.URI(), s.MAC(), s.SerialNumber())
			}
			fmt.Fprintln(out, "Press Ctrl-C to stop.")
			<-cmd.Context().Done()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8443", "address to listen on")
	fl.IntVar(&systems, "systems", 1, "number of systems (ids 1..N)")
	fl.StringSliceVar(&ids, "ids", nil, "explicit system ids, comma separated (overrides --systems)")
	fl.StringArrayVar(&macs, "mac", nil, "MAC of a system's first NIC, as SYSTEM-ID=MAC (repeatable)")
	fl.StringVar(&user, "user", "admin", "user name")
	fl.StringVar(&password, "password", "password", "password")
	fl.BoolVar(&useTLS, "tls", false, "serve HTTPS with a self-signed certificate")
	fl.StringVar(&caFile, "ca-file", "", "where --tls writes the certificate (default: a file in the temporary directory)")
	fl.DurationVar(&powerDelay, "power-delay", 0, "how long a reset takes to change the power state")
	fl.BoolVar(&requireSession, "require-session", false, "refuse HTTP Basic authentication (sessions only)")
	fl.BoolVar(&patch204, "patch-204", false, "answer a successful PATCH with 204 instead of 200 and the resource")
	fl.BoolVar(&conflict, "already-in-state-conflict", false, "answer On while on / ForceOff while off with 409, like iDRAC")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log every request to stderr")
	return cmd
}
