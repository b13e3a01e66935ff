package main

import (
	"context"
	"time"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
	"github.com/spf13/cobra"
)

// fetchFlags are the flags of every command that reads a design reference.
type fetchFlags struct {
	timeout  time.Duration
	maxBytes int64
}

func (f *fetchFlags) add(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.timeout, "timeout", ref.DefaultTimeout, "time limit for fetching an http(s) or deckhand design reference")
	cmd.Flags().Int64Var(&f.maxBytes, "max-bytes", ref.DefaultMaxBytes, "size limit for a design (bytes)")
}

// fetch resolves a design reference into sources.
func (f *fetchFlags) fetch(ctx context.Context, designRef string) ([]design.Source, error) {
	r := &ref.Resolver{Timeout: f.timeout, MaxBytes: f.maxBytes}
	srcs, err := r.Fetch(ctx, designRef)
	if err != nil {
		return nil, err
	}
	out := make([]design.Source, len(srcs))
	for i, s := range srcs {
		out[i] = design.Source{Name: s.Name, Data: s.Data}
	}
	return out, nil
}
