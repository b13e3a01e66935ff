package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/drydock-go/drydock/internal/api/auth"
	"github.com/drydock-go/drydock/internal/api/policy"
)

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Show the node driver's machines and their build data (through the API)"}
	cmd.AddCommand(newNodeListCmd(), newNodeBuildDataCmd())
	return cmd
}

func newNodeListCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the machines the node driver knows, with their status and power state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			ms, err := c.Nodes(cmd.Context())
			if err != nil {
				return apiError(c, err)
			}
			out := cmd.OutOrStdout()
			if o.value != "table" {
				return writeStructured(out, o.value, ms)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE NAME\tSTATUS\tCPUS\tMEMORY\tPXE MAC\tMGMT IP\tIPMI IP\tPOWER STATE")
			for _, m := range ms {
				st := m.Status
				if st == "" {
					st = "(not enlisted)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Hostname, st, dash(m.CPUCount), dash64(m.MemoryMiB),
					m.BootMAC, orDash(m.BootIP), orDash(m.PowerAddress), m.PowerState)
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	return cmd
}

func dash(n int) string { return dash64(int64(n)) }

func dash64(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newNodeBuildDataCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var latest bool
	cmd := &cobra.Command{
		Use:   "builddata NODENAME",
		Short: "Show the build data collected for a node (hardware inventory, LLDP, script output)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			bds, err := c.NodeBuildData(cmd.Context(), args[0], latest)
			if err != nil {
				return apiError(c, err)
			}
			return writeStructured(cmd.OutOrStdout(), o.value, bds)
		},
	}
	f.add(cmd)
	o.add(cmd, "yaml", "yaml", "json")
	cmd.Flags().BoolVar(&latest, "latest", true, "only the newest record of each generator (--latest=false: all)")
	return cmd
}

func newDesignCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "design", Short: "Work with site designs on the server (through the API)"}
	cmd.AddCommand(newDesignValidateCmd(), newDesignNodesCmd())
	return cmd
}

func newDesignValidateCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "validate DESIGN_REF",
		Short: "Validate a design on the server (drydock validate does it locally)",
		Long: `Validate asks the server to read and validate DESIGN_REF (a URL, or a path on the server's
machine; a relative path is made absolute here). Exit status: 0 valid, 1 invalid, 2 the
design could not be read or the request failed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			st, err := c.ValidateDesign(cmd.Context(), absRef(args[0]))
			if err != nil {
				return &exitError{exitUsage, apiError(c, err)}
			}
			out := cmd.OutOrStdout()
			if o.value != "table" {
				if err := writeStructured(out, o.value, st); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "%s: %s (%d errors)\n", st.Status, st.Message, st.Details.ErrorCount)
				for _, m := range st.Details.MessageList {
					mm, _ := m.(map[string]any)
					if mm == nil || mm["level"] == "Info" {
						continue
					}
					fmt.Fprintf(out, "  %v %v %v: %v\n", mm["level"], mm["name"], mm["rule"], mm["message"])
				}
			}
			if st.Details.ErrorCount > 0 {
				return &exitError{exitInvalid, nil}
			}
			return nil
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	return cmd
}

func newDesignNodesCmd() *cobra.Command {
	var f clientFlags
	var o outputFlag
	var names, racks, tags []string
	cmd := &cobra.Command{
		Use:   "nodes DESIGN_REF",
		Short: "List the design's nodes a node filter selects (what a task with these flags would target)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client(&o)
			if err != nil {
				return err
			}
			got, err := c.NodeFilter(cmd.Context(), absRef(args[0]), nodeFilterOf(names, racks, tags))
			if err != nil {
				return &exitError{exitUsage, apiError(c, err)}
			}
			if o.value != "table" {
				return writeStructured(cmd.OutOrStdout(), o.value, got)
			}
			for _, n := range got {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	}
	f.add(cmd)
	o.add(cmd, "table", "table", "json", "yaml")
	cmd.Flags().StringSliceVarP(&names, "node-names", "n", nil, "nodes with these names")
	cmd.Flags().StringSliceVarP(&racks, "rack-names", "r", nil, "nodes in these racks")
	cmd.Flags().StringSliceVarP(&tags, "node-tags", "t", nil, "nodes with any of these tags")
	return cmd
}

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Make API tokens for the tokens file"}
	var user string
	var roles []string
	gen := &cobra.Command{
		Use:   "new",
		Short: "Print a new random token and the tokens-file entry (with its SHA-256) for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := auth.NewToken()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "token: %s\n\n# add to the tokens file (api.tokens_file):\n  - user: %s\n    roles: [%s]\n    token_sha256: %s\n",
				tok, user, strings.Join(roles, ", "), auth.HashToken(tok))
			return nil
		},
	}
	gen.Flags().StringVar(&user, "user", "operator", "the user the token stands for")
	gen.Flags().StringSliceVar(&roles, "roles", []string{"admin"}, "its roles")
	cmd.AddCommand(gen)
	return cmd
}

func newPolicyCmd() *cobra.Command {
	var f serverFlags
	var file string
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Print the effective API policy rules (defaults merged with the policy file)",
		Long: `Policy loads the policy file (--policy-file, else api.policy_file of the configuration) and
prints every rule with its expression, so that an operator can check an override before
restarting drydock serve. A file with an error is reported with its line and column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				c, err := f.load()
				if err != nil {
					return &exitError{exitUsage, err}
				}
				file = c.API.PolicyFile
			}
			p, err := policy.Load(file)
			if err != nil {
				return &exitError{exitUsage, err}
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RULE\tEXPRESSION\tDESCRIPTION")
			for _, r := range p.Rules() {
				expr := r.Default
				if expr == "" {
					expr = `""`
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, expr, r.Description)
			}
			return tw.Flush()
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&file, "policy-file", "", "policy file to check (default: api.policy_file of the configuration)")
	return cmd
}
