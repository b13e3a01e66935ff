package maassim

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// checkAddressIndex compares the address index (ipUsed) with a scan of every link (usedIPs).
func checkAddressIndex(t *testing.T, s *Server) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.st.usedIPs()
	for a := range used {
		if !s.st.ipUsed(a) {
			t.Errorf("%s is held by a link but the index says it is free", a)
		}
	}
	for a := range s.st.ips {
		if s.st.ipUsed(a) && !used[a] {
			t.Errorf("the index says %s is held, but no link holds it", a)
		}
	}
}

func linkID(t *testing.T, ifc map[string]any, ip string) string {
	t.Helper()
	for _, l := range ifc["links"].([]any) {
		if lm := l.(map[string]any); lm["ip_address"] == ip {
			return fmt.Sprint(lm["id"])
		}
	}
	t.Fatalf("no link with %s in %v", ip, ifc["links"])
	return ""
}

// TestAddressIndex: a static address is refused while a link holds it and free again once the
// link is unlinked or its machine deleted; deployment's AUTO addresses are held until release.
func TestAddressIndex(t *testing.T) {
	f := newFixture(t)
	c := f.c
	checkAddressIndex(t, f.srv) // the deployed machine's AUTO address, the rack's
	link := func(node, ip string, status int) resp {
		return must(t, c.post(f.expand("nodes/{"+node+"}/interfaces/{"+node+"_eth1}/?op=link_subnet"),
			vals("mode", "static", "subnet", f.ids["subnet"], "ip_address", ip)), status)
	}
	held := link("alloc", "10.0.0.20", 200).obj(t)
	link("ready", "10.0.0.20", 400)
	checkAddressIndex(t, f.srv)
	must(t, c.post(f.expand("nodes/{alloc}/interfaces/{alloc_eth1}/?op=unlink_subnet"), vals("id", linkID(t, held, "10.0.0.20"))), 200)
	checkAddressIndex(t, f.srv)
	link("ready", "10.0.0.20", 200)
	link("alloc", "10.0.0.20", 400)
	must(t, c.del(f.expand("machines/{ready}/")), 204)
	checkAddressIndex(t, f.srv)
	link("alloc", "10.0.0.20", 200)

	// A link without an address takes the lowest free one: not the gateway (.1), not in the
	// dynamic range (.100-.150), not held.
	s := f.srv
	s.mu.Lock()
	used := s.st.usedIPs()
	s.mu.Unlock()
	want := ""
	for i := 2; i < 255 && want == ""; i++ {
		if a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}); !used[a] && (i < 100 || i > 150) {
			want = a.String()
		}
	}
	for _, i := range must(t, c.get(f.expand("nodes/{new}/interfaces/"), nil), 200).list(t) {
		if im := i.(map[string]any); im["name"] == "eth1" {
			f.ids["new_eth1"] = fmt.Sprint(im["id"])
		}
	}
	free := must(t, c.post(f.expand("nodes/{new}/interfaces/{new_eth1}/?op=link_subnet"),
		vals("mode", "static", "subnet", f.ids["subnet"])), 200).obj(t)
	if got := linkID(t, free, want); got == "" {
		t.Errorf("no link with %s", want)
	}
	checkAddressIndex(t, f.srv)
	must(t, c.post(f.expand("machines/{deployed}/?op=release"), nil), 200)
	f.clock.Advance(5 * testDelays.Releasing)
	if ms, _ := f.srv.Snapshot(f.ids["deployed"]); ms.StatusName != "Ready" {
		t.Fatalf("released machine is %s", ms.StatusName)
	}
	checkAddressIndex(t, f.srv)
}

// TestMachineTagIndex: tag_names follows update_nodes, renames and deletions of tags.
func TestMachineTagIndex(t *testing.T) {
	f := newFixture(t)
	c := f.c
	names := func() []string {
		m := must(t, c.get(f.expand("machines/{ready}/"), nil), 200).obj(t)
		var out []string
		for _, v := range m["tag_names"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	want := func(w ...string) {
		t.Helper()
		if got := names(); !slices.Equal(got, w) {
			t.Errorf("tag_names %v, want %v", got, w)
		}
	}
	want()
	must(t, c.post("tags/", vals("name", "t2")), 200)
	must(t, c.post(f.expand("tags/t2/?op=update_nodes"), vals("add", f.ids["ready"])), 200)
	must(t, c.post(f.expand("tags/t1/?op=update_nodes"), vals("add", f.ids["ready"])), 200)
	want("t1", "t2")
	must(t, c.put("tags/t2/", vals("name", "t0")), 200)
	want("t0", "t1")
	if got := must(t, c.get("machines/", vals("tags", "t0")), 200).list(t); len(got) != 1 {
		t.Errorf("machines tagged t0: %d", len(got))
	}
	must(t, c.post(f.expand("tags/t1/?op=update_nodes"), vals("remove", f.ids["ready"])), 200)
	want("t0")
	must(t, c.del("tags/t0/"), 204)
	want()
	must(t, c.post("tags/", vals("name", "t0")), 200) // a new tag of the same name is not applied
	want()
	must(t, c.get("tags/t2/", nil), 404) // renamed: not found under its old name
}

// TestResultsBySystemID: commissioning-results filtered by system id (any case) lists exactly
// that node's results, in order.
func TestResultsBySystemID(t *testing.T) {
	f := newFixture(t)
	c := f.c
	all := must(t, c.get("commissioning-results/", nil), 200).list(t)
	for _, ids := range [][]string{{f.ids["ready"]}, {strings.ToUpper(f.ids["alloc"]), f.ids["ready"]}} {
		var want []string
		for _, r := range all {
			sid := r.(map[string]any)["node"].(map[string]any)["system_id"].(string)
			if slices.ContainsFunc(ids, func(id string) bool { return strings.EqualFold(id, sid) }) {
				want = append(want, fmt.Sprint(r.(map[string]any)["id"]))
			}
		}
		q := vals()
		for _, id := range ids {
			q.Add("system_id", id)
		}
		var got []string
		for _, r := range must(t, c.get("commissioning-results/", q), 200).list(t) {
			got = append(got, fmt.Sprint(r.(map[string]any)["id"]))
		}
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("system_id=%v: results %v, want %v", ids, got, want)
		}
	}
	must(t, c.del(f.expand("machines/{ready}/")), 204)
	q := vals("system_id", f.ids["ready"])
	if got := must(t, c.get("commissioning-results/", q), 200).list(t); len(got) != 0 {
		t.Errorf("%d results of a deleted machine", len(got))
	}
}
