package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/validate"
	"github.com/drydock-go/drydock/internal/status"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

type validateOpts struct {
	fetch   fetchFlags
	output  string
	verbose bool
	color   string
	only    []string
}

func newValidateCmd() *cobra.Command {
	o := &validateOpts{}
	cmd := &cobra.Command{
		Use:   "validate DESIGN_REF",
		Short: "Validate a site design",
		Long: `Validate reads the site design named by DESIGN_REF (a file or directory path, file://,
http(s):// or deckhand+http(s)://), compiles the applied model of every node and checks every
validation rule.

Exit status: 0 the design is valid (warnings allowed), 1 the design has errors,
2 the design could not be read or the command was misused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd, o, args[0])
		},
	}
	o.fetch.add(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "also show informational messages (rules that passed)")
	cmd.Flags().StringVar(&o.color, "color", "auto", "colour the text output: auto, always or never")
	cmd.Flags().StringSliceVar(&o.only, "rule", nil, "run only these rules (codes or slugs; repeatable)")
	return cmd
}

func runValidate(cmd *cobra.Command, o *validateOpts, designRef string) error {
	if o.output != "text" && o.output != "json" {
		return &exitError{exitUsage, fmt.Errorf("--output must be text or json, not %q", o.output)}
	}
	for _, r := range o.only {
		if validate.Lookup(r) == nil {
			return &exitError{exitUsage, fmt.Errorf("--rule %s: no such rule (see drydock validate --help and the README)", r)}
		}
	}
	defer design.TuneGCForBatch()()
	out := cmd.OutOrStdout()
	sources, err := o.fetch.fetch(cmd.Context(), designRef)
	if err != nil {
		if o.output == "json" {
			st := status.New(status.Failure, err.Error(), "DesignUnreadable", 400)
			st.Add(err.Error(), true)
			writeJSON(out, st)
			return &exitError{exitUsage, nil}
		}
		return &exitError{exitUsage, err}
	}
	rep := validate.Sources(cmd.Context(), validate.Options{Only: o.only}, sources...)
	if o.output == "json" {
		writeJSON(out, design.Status(rep.Messages))
	} else {
		color := o.color == "always" || (o.color == "auto" && isTerminal(out) && os.Getenv("NO_COLOR") == "")
		writeText(out, rep, designRef, o.verbose, color)
	}
	if !rep.Valid() {
		return &exitError{exitInvalid, nil}
	}
	return nil
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiGreen  = "\x1b[32m"
	ansiReset  = "\x1b[0m"
)

// writeText prints messages grouped by the first document they name, errors first.
func writeText(w io.Writer, rep *validate.Report, designRef string, verbose, color bool) {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	type group struct {
		key  string
		msgs []design.Message
		rank int
	}
	groups := map[string]*group{}
	var order []*group
	counts := map[design.Level]int{}
	for _, m := range rep.Messages {
		counts[m.Level]++
		if m.Level == design.LevelInfo && !verbose {
			continue
		}
		key := "(site)"
		if len(m.Documents) > 0 {
			key = m.Documents[0].Schema + " " + m.Documents[0].Name
		}
		g := groups[key]
		if g == nil {
			g = &group{key: key, rank: 3}
			groups[key] = g
			order = append(order, g)
		}
		g.msgs = append(g.msgs, m)
		if r := levelRank(m.Level); r < g.rank {
			g.rank = r
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].rank < order[j].rank })
	for _, g := range order {
		fmt.Fprintln(w, paint(ansiBold, g.key))
		sort.SliceStable(g.msgs, func(i, j int) bool { return levelRank(g.msgs[i].Level) < levelRank(g.msgs[j].Level) })
		for _, m := range g.msgs {
			label := map[design.Level]string{design.LevelError: paint(ansiRed, "ERROR"), design.LevelWarning: paint(ansiYellow, "WARN "), design.LevelInfo: paint(ansiBlue, "INFO ")}[m.Level]
			fmt.Fprintf(w, "  %s %s %s\n", label, paint(ansiDim, m.Code+" "+m.Rule), m.Message)
			if m.Diagnostic != "" && m.Level != design.LevelInfo {
				fmt.Fprintf(w, "        %s %s\n", paint(ansiDim, "fix:"), m.Diagnostic)
			}
		}
		fmt.Fprintln(w)
	}
	nodes := 0
	if rep.Site != nil {
		nodes = len(rep.Site.Nodes)
	}
	verdict := paint(ansiGreen+ansiBold, "VALID")
	if !rep.Valid() {
		verdict = paint(ansiRed+ansiBold, "INVALID")
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%d documents", rep.Ingested.Documents), fmt.Sprintf("%d nodes", nodes))
	parts = append(parts, plural(counts[design.LevelError], "error"), plural(counts[design.LevelWarning], "warning"))
	if rep.Site == nil {
		parts = append(parts, "rules not run: fix the documents first")
	}
	fmt.Fprintf(w, "%s: %s (%s)\n", designRef, verdict, strings.Join(parts, ", "))
}

func levelRank(l design.Level) int {
	switch l {
	case design.LevelError:
		return 0
	case design.LevelWarning:
		return 1
	}
	return 2
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
