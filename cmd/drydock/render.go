package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v4"
)

type renderOpts struct {
	fetch       fetchFlags
	output      string
	nodes       []string
	showSecrets bool
}

func newRenderCmd() *cobra.Command {
	o := &renderOpts{}
	cmd := &cobra.Command{
		Use:   "render DESIGN_REF",
		Short: "Print the applied model of nodes (what host-profile inheritance produced)",
		Long: `Render compiles the site design named by DESIGN_REF and prints the applied ("effective")
model of its nodes: host profiles merged, hardware-profile aliases resolved, kernel parameters
resolved. It does not run the validation rules; use drydock validate for that.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRender(cmd, o, args[0])
		},
	}
	o.fetch.add(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "yaml", "output format: yaml or json")
	cmd.Flags().StringSliceVar(&o.nodes, "node", nil, "render only these nodes (repeatable)")
	cmd.Flags().BoolVar(&o.showSecrets, "show-secrets", false, "print OOB credentials instead of masking them")
	return cmd
}

func runRender(cmd *cobra.Command, o *renderOpts, designRef string) error {
	if o.output != "yaml" && o.output != "json" {
		return &exitError{exitUsage, fmt.Errorf("--output must be yaml or json, not %q", o.output)}
	}
	defer design.TuneGCForBatch()()
	sources, err := o.fetch.fetch(cmd.Context(), designRef)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	in := design.Parse(sources...)
	if !in.OK() {
		for _, m := range in.Messages {
			if m.Error {
				fmt.Fprintln(cmd.ErrOrStderr(), m.Message)
			}
		}
		return &exitError{exitInvalid, fmt.Errorf("the design has %d document errors; run drydock validate for details", design.ErrorCount(in.Messages))}
	}
	site := design.Compile(in.Design)
	nodes := site.Nodes
	if len(o.nodes) > 0 {
		nodes = nil
		for _, name := range o.nodes {
			n := site.Node(name)
			if n == nil {
				return &exitError{exitUsage, fmt.Errorf("no BaremetalNode named %q in the design", name)}
			}
			nodes = append(nodes, n)
		}
	}
	type rendered struct {
		*design.Node
		KernelCommandLine string `json:"kernel_command_line"`
	}
	list := make([]rendered, 0, len(nodes))
	for _, n := range nodes {
		cl, _ := n.KernelCommandLine()
		if !o.showSecrets {
			n = maskSecrets(n)
		}
		list = append(list, rendered{n, cl})
	}
	doc := map[string]any{"nodes": list}
	if o.output == "json" {
		writeJSON(cmd.OutOrStdout(), doc)
		return nil
	}
	return writeYAML(cmd.OutOrStdout(), doc)
}

// writeYAML prints v as block-style YAML, keeping the field order of its JSON form.
func writeYAML(w io.Writer, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(js, &n); err != nil {
		return err
	}
	blockStyle(&n)
	out, err := yaml.Dump(&n, yaml.WithIndent(2))
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		if len(n.Content) > 0 {
			n.Style = 0
		}
	}
	if n.Kind == yaml.ScalarNode {
		n.Style &^= yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// secretKeys are OOB parameters whose values are credentials.
var secretKeys = []string{"credential", "password", "passwd", "secret", "token", "key"}

// maskSecrets returns a copy of the node with credential values replaced by a mask.
func maskSecrets(n *design.Node) *design.Node {
	cp := *n
	cp.OOBParams = make(design.KV, len(n.OOBParams))
	for i, p := range n.OOBParams {
		for _, k := range secretKeys {
			if strings.Contains(strings.ToLower(p.Key), k) && p.Value != "" {
				p.Value = "********"
				break
			}
		}
		cp.OOBParams[i] = p
	}
	return &cp
}
