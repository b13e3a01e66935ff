// Package examples embeds the example site designs, so that drydock demo works from any
// directory and in a binary built elsewhere.
package examples

import "embed"

// Site is the example site design of examples/site.
//
//go:embed site/*.yaml
var Site embed.FS
