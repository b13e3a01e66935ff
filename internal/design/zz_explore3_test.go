package design

import (
	"fmt"
	"testing"
)

func TestZZExplore3(t *testing.T) {
	cases := []string{
		"schema: drydock/Network/v1\nmetadata:\n  name: a\ndata:\n  cidr: [unclosed\n",
		"schema: drydock/Network/v1\ndata:\n  cidr: 10.0.0.0/8\n",
		"schema: drydock/Network/v1\nmetadata: {}\ndata:\n  cidr: 10.0.0.0/8\n",
		"schema: drydock/Network/v2\nmetadata:\n  name: a\ndata:\n  cidr: 10.0.0.0/8\n",
		"schema: drydock/Foo/v1\nmetadata:\n  name: a\ndata:\n  cidr: 10.0.0.0/8\n",
		"schema: drydock/Network\nmetadata:\n  name: a\ndata:\n  cidr: 10.0.0.0/8\n",
		"---\n---\nschema: deckhand/Foo/v1\nmetadata:\n  name: a\n---\nschema: promenade/Foo/v1\n",
		"schema: drydock/Network/v1\nmetadata:\n  name: a\n  name: b\ndata:\n  cidr: 10.0.0.0/8\n  cidr: 10.0.0.0/9\n",
		"schema: drydock/Network/v1\nmetadata:\n  name: a\ndata:\n  cidr: 10.0.0.0/8\n---\nschema: drydock/Network/v1\nmetadata:\n  name: a\ndata:\n  cidr: 10.0.0.0/9\n",
		"schema: drydock/HostProfile/v1\nmetadata:\n  name: a\ndata:\n  platform:\n    kernel_params:\n      off: true\n",
		"apiVersion: drydock/v1\nkind: Network\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/8\n  foo: 1\n",
		"apiVersion: v1.0\nkind: Network\nmetadata:\n  name: a\nspec:\n  cidr: 10.0.0.0/8\n",
		"just a string\n",
		"- a\n- b\n",
		"schema: drydock/Network/v1\nmetadata:\n  name: 123\ndata:\n  cidr: 10.0.0.0/8\n",
		"foo: bar\n",
	}
	for _, c := range cases {
		in := Parse(Source{Name: "x.yaml", Data: []byte(c)})
		fmt.Printf("== docs=%d ignored=%d nets=%d\n", in.Documents, in.Ignored, len(in.Design.Networks))
		for _, m := range in.Messages {
			fmt.Printf("   %s %s %s %+v | %s\n", m.Code, m.Rule, m.Level, m.Documents, m.Message)
		}
	}
}
