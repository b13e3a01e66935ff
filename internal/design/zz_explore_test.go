package design

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestZZExplore(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/drydock-samples/*.yaml")
	for _, f := range files {
		if os.Getenv("ZZFILE") != "" && filepath.Base(f) != os.Getenv("ZZFILE") {
			continue
		}
		b, _ := os.ReadFile(f)
		in := Parse(Source{Name: filepath.Base(f), Data: b})
		fmt.Printf("== %s docs=%d ignored=%d nodes=%d hp=%d\n", filepath.Base(f), in.Documents, in.Ignored, len(in.Design.Nodes), len(in.Design.HostProfiles))
		for _, m := range in.Messages {
			fmt.Printf("   %s %s %s %v | %s\n", m.Code, m.Rule, m.Level, m.Documents, m.Message)
		}
		s := Compile(in.Design)
		for _, n := range s.Nodes {
			if len(n.Issues) > 0 {
				fmt.Printf("   node %s issues %+v\n", n.Name, n.Issues)
			}
		}
	}
}
