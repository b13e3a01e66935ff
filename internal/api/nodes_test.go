package api

// The node and design endpoints: nodes, node build data, node filters and design validation.

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/store"
	"github.com/drydock-go/drydock/internal/task"
	"github.com/drydock-go/drydock/internal/testutil"
)

// nonListingDriver is a node driver that cannot list machines.
type nonListingDriver struct{ driver.NodeDriver }

// brokenLister is a node driver whose listing fails.
type brokenLister struct{ driver.NodeDriver }

func (brokenLister) Machines(context.Context) ([]driver.Machine, error) {
	return nil, errors.New("provisioner answered 500")
}

func TestListNodes(t *testing.T) {
	ts := newTestServer(t)
	r := ts.get(t, Prefix+"/nodes", adminToken)
	if r.Code != http.StatusOK {
		t.Fatalf("nodes: %d %s", r.Code, r.Raw)
	}
	var names []string
	for _, m := range r.list(t) {
		names = append(names, jstr(m, "hostname"))
		// Machines not yet enrolled in the provisioner have no status or system id.
		if jstr(m, "power_state") != "off" || jstr(m, "boot_mac") == "" {
			t.Errorf("machine %v lacks its power state or boot MAC", m)
		}
	}
	if want := []string{"cmp01", "cmp02", "cmp03", "ctl01"}; !slices.Equal(names, want) {
		t.Errorf("machines %v, want %v", names, want)
	}

	empty := newTestServer(t, func(o *serverOpts) { o.noMachines = true })
	if r := empty.get(t, Prefix+"/nodes", adminToken); r.Code != http.StatusOK || strings.TrimSpace(string(r.Raw)) != "[]" {
		t.Errorf("no machines: %d %s", r.Code, r.Raw)
	}

	nl := newTestServer(t, func(o *serverOpts) { o.nodeDriver = nonListingDriver{ts.site.NodeDriver()} })
	assertStatusDoc(t, nl.get(t, Prefix+"/nodes", adminToken), http.StatusServiceUnavailable, "cannot list machines")

	fl := newTestServer(t, func(o *serverOpts) { o.nodeDriver = brokenLister{ts.site.NodeDriver()} })
	assertStatusDoc(t, fl.get(t, Prefix+"/nodes", adminToken), http.StatusBadGateway, "provisioner answered 500")
}

func TestNodeBuildData(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	t1 := ts.createTask(t, task.ActionVerifyNodes, nil)
	t2 := ts.createTask(t, task.ActionPrepareNodes, nil)
	id1, id2 := uuid.MustParse(jstr(t1, "task_id")), uuid.MustParse(jstr(t2, "task_id"))
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, bd := range []store.BuildData{
		{NodeName: "cmp01", TaskID: id1, Collected: base, Generator: "lshw", Format: "text/xml", Data: []byte("old")},
		{NodeName: "cmp01", TaskID: id1, Collected: base.Add(time.Minute), Generator: "lldp", Format: "application/json", Data: []byte("lldp")},
		{NodeName: "cmp01", TaskID: id2, Collected: base.Add(time.Hour), Generator: "lshw", Format: "text/xml", Data: []byte("new")},
		{NodeName: "cmp02", TaskID: id2, Collected: base, Generator: "lshw", Format: "text/xml", Data: []byte("other node")},
	} {
		if err := ts.raw.PutBuildData(ctx, bd); err != nil {
			t.Fatal(err)
		}
	}
	elements := func(r *apiResp) []string {
		var out []string
		for _, v := range r.list(t) {
			if jstr(v, "node_name") != "cmp01" {
				t.Errorf("another node's record: %v", v)
			}
			out = append(out, jstr(v, "data_element"))
		}
		return out
	}
	for _, q := range []string{"", "?latest=false", "?latest=FALSE"} {
		r := ts.get(t, Prefix+"/nodes/cmp01/builddata"+q, adminToken)
		if r.Code != http.StatusOK {
			t.Fatalf("%q: %d %s", q, r.Code, r.Raw)
		}
		if got, want := elements(r), []string{"old", "lldp", "new"}; !slices.Equal(got, want) {
			t.Errorf("%q: %v, want every record oldest first %v", q, got, want)
		}
	}
	for _, q := range []string{"?latest=true", "?latest=True"} {
		r := ts.get(t, Prefix+"/nodes/cmp01/builddata"+q, adminToken)
		if got, want := elements(r), []string{"lldp", "new"}; !slices.Equal(got, want) {
			t.Errorf("%s: %v, want the newest per generator %v", q, got, want)
		}
	}
	assertStatusDoc(t, ts.get(t, Prefix+"/nodes/cmp09/builddata", adminToken), http.StatusNotFound, "cmp09")
	assertStatusDoc(t, ts.get(t, Prefix+"/nodes/cmp09/builddata?latest=true", adminToken), http.StatusNotFound, "cmp09")
}

// --- node filters and design validation ---------------------------------------------------

func TestNodeFilter(t *testing.T) {
	ts := newTestServer(t)
	site := testutil.ExampleSite(t)
	post := func(body any) *apiResp {
		t.Helper()
		return ts.post(t, Prefix+"/nodefilter", adminToken, body)
	}
	names := func(r *apiResp) []string {
		t.Helper()
		if r.Code != http.StatusOK {
			t.Fatalf("nodefilter: %d %s", r.Code, r.Raw)
		}
		var out []string
		for _, v := range r.list(t) {
			out = append(out, v.(string))
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name string
		body map[string]any
		want []string
	}{
		{"all nodes", map[string]any{"design_ref": site}, []string{"cmp01", "cmp02", "cmp03", "ctl01"}},
		{"file URL, null filter", map[string]any{"design_ref": "file://" + site, "node_filter": nil}, []string{"cmp01", "cmp02", "cmp03", "ctl01"}},
		{"node names", map[string]any{"design_ref": site, "node_filter": map[string]any{"filter_set_type": "union",
			"filter_set": []any{map[string]any{"filter_type": "union", "node_names": []string{"cmp01", "ctl01"}}}}}, []string{"cmp01", "ctl01"}},
		{"rack", map[string]any{"design_ref": site, "node_filter": map[string]any{"filter_set_type": "union",
			"filter_set": []any{map[string]any{"filter_type": "union", "rack_names": []string{"rack02"}}}}}, []string{"cmp02", "cmp03"}},
		{"intersection", map[string]any{"design_ref": site, "node_filter": map[string]any{"filter_set_type": "intersection",
			"filter_set": []any{
				map[string]any{"filter_type": "union", "rack_names": []string{"rack01"}},
				map[string]any{"filter_type": "union", "node_names": []string{"cmp01", "cmp03"}},
			}}}, []string{"cmp01"}},
		{"no match", map[string]any{"design_ref": site, "node_filter": map[string]any{"filter_set_type": "union",
			"filter_set": []any{map[string]any{"filter_type": "union", "node_names": []string{"nosuch"}}}}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names(post(c.body)); !slices.Equal(got, c.want) {
				t.Errorf("%v, want %v", got, c.want)
			}
		})
	}
	t.Run("invalid design", func(t *testing.T) {
		r := post(map[string]any{"design_ref": testutil.InvalidSample(t)})
		doc := assertStatusDoc(t, r, http.StatusBadRequest, "failed validation")
		if doc["reason"] != "DesignInvalid" {
			t.Errorf("reason %v", doc["reason"])
		}
		if n, _ := jget(doc, "details", "errorCount").(float64); n < 2 {
			t.Errorf("errorCount %v: the design's errors should all be listed", n)
		}
	})
	t.Run("unreadable design", func(t *testing.T) {
		r := post(map[string]any{"design_ref": site + "/no-such-file.yaml"})
		assertStatusDoc(t, r, http.StatusBadRequest, "no-such-file.yaml")
	})
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("nodefilter wrote %v", w)
	}
}

func TestValidateDesign(t *testing.T) {
	ts := newTestServer(t)
	r := ts.post(t, Prefix+"/validatedesign", adminToken, map[string]any{"href": testutil.ExampleSite(t), "rel": "design", "type": "application/x-yaml"})
	if r.Code != http.StatusOK {
		t.Fatalf("validate: %d %s", r.Code, r.Raw)
	}
	doc := r.obj(t)
	if doc["kind"] != "Status" || doc["status"] != "Success" || doc["code"] != float64(200) || jget(doc, "details", "errorCount") != float64(0) {
		t.Errorf("valid design: %s", r.Raw)
	}

	r = ts.post(t, Prefix+"/validatedesign", adminToken, map[string]any{"href": "file://" + testutil.InvalidSample(t)})
	doc = assertStatusDoc(t, r, http.StatusBadRequest)
	list, _ := jget(doc, "details", "messageList").([]any)
	nerr := 0
	for _, m := range list {
		if jget(m, "error") == true {
			nerr++
			if jstr(m, "message") == "" {
				t.Errorf("an error without a message: %v", m)
			}
		}
	}
	if n, _ := jget(doc, "details", "errorCount").(float64); nerr < 2 || int(n) != nerr {
		t.Errorf("errorCount %v, %d error messages", n, nerr)
	}

	assertStatusDoc(t, ts.post(t, Prefix+"/validatedesign", adminToken, map[string]any{}), http.StatusBadRequest, "href")
	assertStatusDoc(t, ts.post(t, Prefix+"/validatedesign", adminToken, map[string]any{"href": "/no/such/design"}), http.StatusBadRequest, "/no/such/design")
	if w := ts.rec.Writes(); len(w) != 0 {
		t.Errorf("validatedesign wrote %v", w)
	}
}
