package nodefilter

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// naiveSelect is a deliberately plain reference implementation: no sets, no
// short cuts, every filter evaluated for every node straight from the rules
// in docs/node-filters.md.
func naiveSelect(fs *FilterSet, u Universe) []int {
	var out []int
	for i, nd := range u.Nodes {
		if naiveNodeSelected(fs, u, nd) {
			out = append(out, i)
		}
	}
	return out
}

func naiveNodeSelected(fs *FilterSet, u Universe, nd Node) bool {
	if fs == nil || len(fs.FilterSet) == 0 {
		return true
	}
	var results []bool
	for _, f := range fs.FilterSet {
		results = append(results, naiveFilter(f, u, nd))
	}
	return combine(fs.FilterSetType, results)
}

func naiveFilter(f Filter, u Universe, nd Node) bool {
	var results []bool
	if len(f.NodeNames) > 0 {
		results = append(results, nd.Name != "" && slices.Contains(f.NodeNames, nd.Name))
	}
	if len(f.NodeTags) > 0 {
		hit := false
		for _, tag := range f.NodeTags {
			if slices.Contains(nd.Tags, tag) {
				hit = true
			}
		}
		results = append(results, hit)
	}
	if len(f.RackNames) > 0 {
		results = append(results, nd.Rack != "" && slices.Contains(f.RackNames, nd.Rack))
	}
	if len(f.NodeLabels) > 0 {
		results = append(results, naiveAllPairs(nd.Labels, f.NodeLabels))
	}
	if len(f.RackLabels) > 0 {
		rackLabels, ok := u.RackLabels[nd.Rack]
		results = append(results, nd.Rack != "" && ok && naiveAllPairs(rackLabels, f.RackLabels))
	}
	if len(results) == 0 {
		return true // no criteria: no restriction
	}
	return combine(f.FilterType, results)
}

func naiveAllPairs(have, want map[string]string) bool {
	for k, v := range want {
		found := false
		for hk, hv := range have {
			if hk == k && hv == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func combine(how string, results []bool) bool {
	if how == Union {
		return slices.Contains(results, true)
	}
	return !slices.Contains(results, false)
}

// Pools are small so that random filters often hit, and include values no
// node carries and the empty string.
var (
	poolTags   = []string{"ctl", "cmp", "stor", "gpu", "", "none"}
	poolRacks  = []string{"r1", "r2", "r3", "r4", "", "rx"}
	poolKeys   = []string{"zone", "role", "power"}
	poolValues = []string{"a", "b", ""}
)

func pick(r *rand.Rand, pool []string, max int) []string {
	n := r.Intn(max + 1)
	out := make([]string, 0, n)
	for range n {
		out = append(out, pool[r.Intn(len(pool))])
	}
	return out
}

func pickLabels(r *rand.Rand, max int) map[string]string {
	n := r.Intn(max + 1)
	if n == 0 && r.Intn(2) == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		m[poolKeys[r.Intn(len(poolKeys))]] = poolValues[r.Intn(len(poolValues))]
	}
	return m
}

func randomUniverse(r *rand.Rand) Universe {
	var u Universe
	for i := range r.Intn(25) {
		u.Nodes = append(u.Nodes, Node{
			Name:   fmt.Sprintf("n%d", i),
			Tags:   pick(r, poolTags, 3),
			Labels: pickLabels(r, 3),
			Rack:   poolRacks[r.Intn(len(poolRacks))],
		})
	}
	if r.Intn(4) > 0 {
		u.RackLabels = map[string]map[string]string{}
		for _, rack := range poolRacks {
			if r.Intn(3) > 0 {
				u.RackLabels[rack] = pickLabels(r, 2)
			}
		}
	}
	return u
}

func randomFilterSet(r *rand.Rand, u Universe) *FilterSet {
	if r.Intn(20) == 0 {
		return nil
	}
	types := []string{Union, Intersection}
	// Names come from the universe, plus some that match nothing.
	names := []string{"ghost", ""}
	for _, nd := range u.Nodes {
		names = append(names, nd.Name)
	}
	fs := &FilterSet{FilterSetType: types[r.Intn(2)]}
	for range r.Intn(4) {
		f := Filter{FilterType: types[r.Intn(2)]}
		// Each criterion is absent half of the time.
		if r.Intn(2) == 0 {
			f.NodeNames = pick(r, names, 5)
		}
		if r.Intn(2) == 0 {
			f.NodeTags = pick(r, poolTags, 3)
		}
		if r.Intn(2) == 0 {
			f.RackNames = pick(r, poolRacks, 3)
		}
		if r.Intn(2) == 0 {
			f.NodeLabels = pickLabels(r, 2)
		}
		if r.Intn(2) == 0 {
			f.RackLabels = pickLabels(r, 2)
		}
		fs.FilterSet = append(fs.FilterSet, f)
	}
	return fs
}

func TestSelectMatchesNaiveReference(t *testing.T) {
	r := rand.New(rand.NewSource(20240601))
	for iter := range 5000 {
		u := randomUniverse(r)
		fs := randomFilterSet(r, u)
		got, err := Select(fs, u)
		if err != nil {
			t.Fatalf("iteration %d: unexpected error: %v", iter, err)
		}
		want := naiveSelect(fs, u)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("iteration %d: filter %+v\nuniverse %+v\ngot  %v\nwant %v", iter, fs, u, got, want)
		}
		for k := range got {
			if got[k] < 0 || got[k] >= len(u.Nodes) {
				t.Fatalf("iteration %d: index %d out of range", iter, got[k])
			}
			if k > 0 && got[k] <= got[k-1] {
				t.Fatalf("iteration %d: result %v is not strictly ascending", iter, got)
			}
		}
		names, err := SelectNames(fs, u)
		if err != nil {
			t.Fatalf("iteration %d: SelectNames: %v", iter, err)
		}
		if len(names) != len(got) {
			t.Fatalf("iteration %d: SelectNames gave %d names for %d nodes", iter, len(names), len(got))
		}
		for k, i := range got {
			if names[k] != u.Nodes[i].Name {
				t.Fatalf("iteration %d: SelectNames %v disagrees with Select %v", iter, names, got)
			}
		}
	}
}

// benchUniverse builds n synthetic nodes spread over 100 racks, each with one
// or two of 20 tags and three labels.
func benchUniverse(n int) Universe {
	u := Universe{RackLabels: map[string]map[string]string{}}
	for r := range 100 {
		u.RackLabels[fmt.Sprintf("rack%03d", r)] = map[string]string{"zone": fmt.Sprintf("z%d", r%4)}
	}
	for i := range n {
		u.Nodes = append(u.Nodes, Node{
			Name: fmt.Sprintf("node%05d", i),
			Rack: fmt.Sprintf("rack%03d", i%100),
			Tags: []string{fmt.Sprintf("tag%02d", i%20), fmt.Sprintf("tag%02d", (i/7)%20)},
			Labels: map[string]string{
				"role":  []string{"control", "compute", "storage"}[i%3],
				"power": fmt.Sprintf("pdu%d", i%8),
				"site":  "s1",
			},
		})
	}
	return u
}

// BenchmarkSelect evaluates one filter with 1,000 node names, two tags and two
// label pairs over 50,000 nodes, under both filter types.
func BenchmarkSelect(b *testing.B) {
	const nodes = 50_000
	u := benchUniverse(nodes)
	names := make([]string, 0, 1000)
	for i := range 1000 {
		names = append(names, fmt.Sprintf("node%05d", (i*37)%nodes)) // scattered, not in design order
	}
	for _, ft := range []string{Union, Intersection} {
		fs := one(Intersection, Filter{
			FilterType: ft,
			NodeNames:  names,
			NodeTags:   []string{"tag03", "tag11"},
			NodeLabels: map[string]string{"role": "compute", "site": "s1"},
		})
		b.Run(ft, func(b *testing.B) {
			b.ReportAllocs()
			var selected int
			for b.Loop() {
				idx, err := Select(fs, u)
				if err != nil {
					b.Fatal(err)
				}
				selected = len(idx)
			}
			b.ReportMetric(float64(selected), "selected")
		})
	}
}
