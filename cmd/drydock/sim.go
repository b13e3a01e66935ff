package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/driver/sim"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "sim", Short: "Inspect the simulated site (its machines and operation log)"}
	cmd.AddCommand(newSimLogCmd(), newSimMachinesCmd(), newSimRedfishCmd(), newSimMaasCmd())
	return cmd
}

func openSim(cmd *cobra.Command, f *serverFlags) (*sim.Site, error) {
	c, err := f.load()
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	s, err := sim.Open(c.SimPath(), sim.Config{ReadOnly: true})
	if err != nil {
		return nil, &exitError{exitUsage, fmt.Errorf("open the simulated site %s: %w", c.SimPath(), err)}
	}
	return s, nil
}

func newSimLogCmd() *cobra.Command {
	var f serverFlags
	var node string
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Print the simulated site's operation log (every power change, commissioning, deployment, release)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openSim(cmd, &f)
			if err != nil {
				return err
			}
			defer s.Close()
			ops, err := s.Log(cmd.Context(), node)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tNODE\tOPERATION\tDETAIL")
			for _, op := range ops {
				n := op.Node
				if n == "" {
					n = "(site)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", op.Time.Local().Format("15:04:05.000"), n, op.Operation, op.Detail)
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&node, "node", "", "only this node")
	return cmd
}

func newSimMachinesCmd() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "machines",
		Short: "List the simulated machines and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openSim(cmd, &f)
			if err != nil {
				return err
			}
			defer s.Close()
			ms, err := s.Machines(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tSTATUS\tSYSTEM ID\tPOWER\tNEXT BOOT\tBOOT MAC\tDEPLOYS\tUPDATED")
			for _, m := range ms {
				status := m.Status
				if status == "" {
					status = "(not enlisted)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", m.Name, status, m.SystemID, m.Power, m.NextBoot,
					m.BootMAC, m.Deploys, m.Updated.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	return cmd
}
