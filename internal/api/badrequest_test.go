package api

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drydock-go/drydock/internal/testutil"
	"github.com/google/uuid"
)

// badCase is a request the API must refuse without writing anything.
type badCase struct {
	name string
	// srv picks the server: "" the default one, "small" one with a 4 KiB body limit, "roots"
	// one that only reads designs under the repository's examples directory.
	srv          string
	method, path string
	// as is who calls: "" admin, "none" nobody, "reader", "deployer", "bogus" (an unknown
	// token).
	as      string
	body    string
	hasBody bool
	header  map[string]string
	code    int
	// want is a substring of the Status message: the offending thing.
	want string
}

// TestBadRequests sends requests that are wrong in one way each and checks the exact status,
// that the answer is a Status naming the problem, and that nothing was written.
func TestBadRequests(t *testing.T) {
	def := newTestServer(t)
	small := newTestServer(t, func(o *serverOpts) { o.config.MaxBody = 4 << 10 })
	examples := filepath.Join(testutil.ModuleDir(t), "examples")
	roots := newTestServer(t, func(o *serverOpts) { o.config.DesignRoots = []string{examples} })

	site := testutil.ExampleSite(t)
	queued := jstr(def.createTask(t, "deploy_nodes", nil), "task_id")
	terminated := jstr(def.createTask(t, "verify_site", nil), "task_id")
	if r := def.post(t, Prefix+"/tasks/"+terminated+"/terminate", adminToken, nil); r.Code != http.StatusOK {
		t.Fatalf("terminate: %d %s", r.Code, r.Raw)
	}

	tasks := Prefix + "/tasks"
	valid := `{"action":"deploy_nodes","design_ref":"SITE"}`
	withFilter := func(filter string) string {
		return `{"action":"deploy_nodes","design_ref":"SITE","node_filter":` + filter + `}`
	}
	big := `{"action":"deploy_nodes","design_ref":"SITE","node_filter":{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_names":["` +
		strings.Repeat("n", 5000) + `"]}]}}`

	cases := []badCase{
		// Body syntax.
		{name: "malformed JSON", method: "POST", path: tasks, body: `{"action": deploy_nodes, "design_ref": "SITE"}`, code: 400, want: "syntax error"},
		{name: "truncated JSON", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"SI`, code: 400, want: "truncated"},
		{name: "truncated after a comma", method: "POST", path: tasks, body: `{"action":"deploy_nodes",`, code: 400, want: "truncated"},
		{name: "empty body", method: "POST", path: tasks, hasBody: true, code: 400, want: "empty"},
		{name: "whitespace body", method: "POST", path: tasks, body: " \n\t ", code: 400, want: "empty"},
		{name: "no body at all", method: "POST", path: tasks, header: map[string]string{"Content-Type": "application/json"}, code: 400, want: "empty"},
		{name: "JSON array", method: "POST", path: tasks, body: `[` + valid + `]`, code: 400, want: "expected a JSON object, got array"},
		{name: "JSON string", method: "POST", path: tasks, body: `"deploy_nodes"`, code: 400, want: "expected a JSON object, got string"},
		{name: "JSON null", method: "POST", path: tasks, body: `null`, code: 400, want: "action is required"},
		{name: "trailing object", method: "POST", path: tasks, body: valid + `{}`, code: 400, want: "unexpected data after the JSON object"},
		{name: "trailing garbage", method: "POST", path: tasks, body: valid + "\n}", code: 400, want: "unexpected data after the JSON object"},
		{name: "oversized body", srv: "small", method: "POST", path: tasks, body: big, code: 413, want: "4096 bytes"},
		{name: "oversized validatedesign body", srv: "small", method: "POST", path: Prefix + "/validatedesign", body: `{"href":"` + strings.Repeat("a", 5000) + `"}`, code: 413, want: "4096 bytes"},

		// Content type.
		{name: "text/plain", method: "POST", path: tasks, body: valid, header: map[string]string{"Content-Type": "text/plain"}, code: 415, want: `"text/plain"`},
		{name: "missing Content-Type", method: "POST", path: tasks, body: valid, header: map[string]string{"Content-Type": ""}, code: 415, want: "Content-Type: application/json"},
		{name: "latin-1 charset", method: "POST", path: tasks, body: valid, header: map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}, code: 415, want: `"iso-8859-1"`},
		{name: "unparsable Content-Type", method: "POST", path: tasks, body: valid, header: map[string]string{"Content-Type": "application/json; charset"}, code: 415, want: "application/json; charset"},
		{name: "form content type", method: "POST", path: Prefix + "/nodefilter", body: `{"design_ref":"SITE"}`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, code: 415, want: "x-www-form-urlencoded"},

		// Fields.
		{name: "unknown field", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"SITE","colour":"red"}`, code: 400, want: `unknown field "colour"`},
		{name: "field name in another case", method: "POST", path: tasks, body: `{"ACTION":"deploy_nodes","design_ref":"SITE"}`, code: 400, want: `unknown field "ACTION"`},
		{name: "href in another case", method: "POST", path: Prefix + "/validatedesign", body: `{"Href":"SITE"}`, code: 400, want: `unknown field "Href"`},
		{name: "field given twice", method: "POST", path: tasks, body: `{"action":"verify_site","action":"destroy_nodes","design_ref":"SITE"}`, code: 400, want: `field "action" is given twice`},
		{name: "action is a number", method: "POST", path: tasks, body: `{"action":7,"design_ref":"SITE"}`, code: 400, want: `"action" must be a string, got number`},
		{name: "design_ref is an array", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":["SITE"]}`, code: 400, want: `"design_ref" must be a string, got array`},
		{name: "design_ref is an object", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":{"href":"SITE"}}`, code: 400, want: `"design_ref" must be a string, got object`},
		{name: "node_filter is a string", method: "POST", path: tasks, body: withFilter(`"cmp01"`), code: 400, want: "node_filter: node filter must be a JSON object, got string"},
		{name: "node_filter is an array", method: "POST", path: tasks, body: withFilter(`["cmp01"]`), code: 400, want: "node filter must be a JSON object, got array"},
		{name: "unknown action", method: "POST", path: tasks, body: `{"action":"reboot_everything","design_ref":"SITE"}`, code: 400, want: `unsupported action "reboot_everything"`},
		{name: "internal action", method: "POST", path: tasks, body: `{"action":"noop","design_ref":"SITE"}`, code: 400, want: `unsupported action "noop"`},
		{name: "missing action", method: "POST", path: tasks, body: `{"design_ref":"SITE"}`, code: 400, want: "action is required"},
		{name: "empty action", method: "POST", path: tasks, body: `{"action":"","design_ref":"SITE"}`, code: 400, want: "action is required"},
		{name: "missing design_ref", method: "POST", path: tasks, body: `{"action":"deploy_nodes"}`, code: 400, want: "design_ref is required"},
		{name: "relative design_ref", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"examples/site"}`, code: 400, want: `"examples/site" is a relative path`},
		{name: "ftp design_ref", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"ftp://example.com/site.yaml"}`, code: 400, want: `unsupported scheme "ftp"`},
		{name: "file URL with a host", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"file://builder/site.yaml"}`, code: 400, want: `cannot name host "builder"`},
		{name: "http URL without a host", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"http:///site.yaml"}`, code: 400, want: "no host"},
		{name: "design_ref too long", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"/` + strings.Repeat("d", 4100) + `"}`, code: 400, want: "longer than 4096"},

		// Node filters.
		{name: "unknown filter_set_type", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"everything","filter_set":[]}`), code: 400, want: `filter_set_type: "everything" is not one of`},
		{name: "missing filter_set_type", method: "POST", path: tasks, body: withFilter(`{"filter_set":[{"filter_type":"union","node_names":["cmp01"]}]}`), code: 400, want: "filter_set_type: missing"},
		{name: "unknown filter key", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"union","filter_set":[],"colour":"red"}`), code: 400, want: "colour: unknown field"},
		{name: "unknown key in a filter", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_name":["cmp01"]}]}`), code: 400, want: "filter_set[0].node_name: unknown field"},
		{name: "number among node names", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_names":["cmp01",2]}]}`), code: 400, want: "filter_set[0].node_names[1]: expected a string"},
		{name: "labels as a list", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"union","filter_set":[{"filter_type":"union","node_labels":["zone=a"]}]}`), code: 400, want: "filter_set[0].node_labels: expected an object"},
		{name: "bad filter_type", method: "POST", path: tasks, body: withFilter(`{"filter_set_type":"union","filter_set":[{"filter_type":"except","node_names":["cmp01"]}]}`), code: 400, want: `filter_set[0].filter_type: "except"`},

		// Task ids in paths.
		{name: "get: bad uuid", method: "GET", path: tasks + "/not-a-uuid", code: 400, want: `"not-a-uuid" is not a task id`},
		{name: "get: uuid without dashes", method: "GET", path: tasks + "/" + strings.ReplaceAll(queued, "-", ""), code: 400, want: "is not a task id"},
		{name: "terminate: bad uuid", method: "POST", path: tasks + "/12345/terminate", code: 400, want: `"12345" is not a task id`},
		{name: "retry: bad uuid", method: "POST", path: tasks + "/xyz/retry", code: 400, want: `"xyz" is not a task id`},
		{name: "steps: bad uuid", method: "GET", path: tasks + "/xyz/steps", code: 400, want: `"xyz" is not a task id`},
		{name: "builddata: bad uuid", method: "GET", path: tasks + "/xyz/builddata", code: 400, want: `"xyz" is not a task id`},

		// Query parameters.
		{name: "list: unknown query parameter", method: "GET", path: tasks + "?colour=red", code: 400, want: `unknown query parameter "colour"`},
		{name: "list: misspelt filter", method: "GET", path: tasks + "?stauts=queued", code: 400, want: `unknown query parameter "stauts"`},
		{name: "create: query parameter", method: "POST", path: tasks + "?dry_run=true", body: valid, code: 400, want: `unknown query parameter "dry_run"`},
		{name: "get: unknown query parameter", method: "GET", path: tasks + "/QUEUED?verbose=1", code: 400, want: `unknown query parameter "verbose"`},
		{name: "steps: query parameter", method: "GET", path: tasks + "/QUEUED/steps?node=cmp01", code: 400, want: `unknown query parameter "node"`},
		{name: "terminate: query parameter", method: "POST", path: tasks + "/QUEUED/terminate?force=true", code: 400, want: `unknown query parameter "force"`},
		{name: "builddata=maybe", method: "GET", path: tasks + "/QUEUED?builddata=maybe", code: 400, want: `builddata="maybe"`},
		{name: "subtaskerrors=2", method: "GET", path: tasks + "/QUEUED?subtaskerrors=2", code: 400, want: `subtaskerrors="2"`},
		{name: "layers=abc", method: "GET", path: tasks + "/QUEUED?layers=abc", code: 400, want: `layers="abc"`},
		{name: "layers=-2", method: "GET", path: tasks + "/QUEUED?layers=-2", code: 400, want: `layers="-2"`},
		{name: "limit=0", method: "GET", path: tasks + "?limit=0", code: 400, want: `limit="0"`},
		{name: "limit=100001", method: "GET", path: tasks + "?limit=100001", code: 400, want: `limit="100001"`},
		{name: "limit=x", method: "GET", path: tasks + "?limit=x", code: 400, want: `limit="x"`},
		{name: "limit=-1", method: "GET", path: tasks + "?limit=-1", code: 400, want: `limit="-1"`},
		{name: "marker not a uuid", method: "GET", path: tasks + "?marker=not-a-uuid", code: 400, want: `marker="not-a-uuid"`},
		{name: "marker of no task", method: "GET", path: tasks + "?marker=" + uuid.NewString(), code: 400, want: "is not a task"},
		{name: "bad status", method: "GET", path: tasks + "?status=bogus", code: 400, want: `status="bogus"`},
		{name: "bad status in a list", method: "GET", path: tasks + "?status=queued,bogus", code: 400, want: `status="bogus"`},
		{name: "empty status", method: "GET", path: tasks + "?status=", code: 400, want: `status=""`},
		{name: "bad action filter", method: "GET", path: tasks + "?action=Deploy-Nodes", code: 400, want: `action="Deploy-Nodes"`},
		{name: "bad toplevel", method: "GET", path: tasks + "?toplevel=perhaps", code: 400, want: `toplevel="perhaps"`},
		{name: "bad messages", method: "GET", path: tasks + "?messages=all", code: 400, want: `messages="all"`},
		{name: "nodes: query parameter", method: "GET", path: Prefix + "/nodes?all=1", code: 400, want: `unknown query parameter "all"`},
		{name: "node builddata: latest=maybe", method: "GET", path: Prefix + "/nodes/cmp01/builddata?latest=maybe", code: 400, want: `latest="maybe"`},
		{name: "node builddata: bad node name", method: "GET", path: Prefix + "/nodes/bad!name/builddata", code: 400, want: `"bad!name" is not a node name`},

		// Authentication and authorization.
		{name: "missing token", as: "none", method: "POST", path: tasks, body: valid, code: 401, want: "authentication required"},
		{name: "invalid token", as: "bogus", method: "POST", path: tasks, body: valid, code: 401, want: "invalid or expired token"},
		{name: "basic auth", as: "none", method: "POST", path: tasks, body: valid, header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}, code: 401, want: "authentication required"},
		{name: "reader creates a task", as: "reader", method: "POST", path: tasks, body: valid, code: 403, want: "reader is not allowed to create_task"},
		{name: "deployer destroys nodes", as: "deployer", method: "POST", path: tasks, body: `{"action":"destroy_nodes","design_ref":"SITE"}`, code: 403, want: "physical_provisioner:destroy_nodes"},
		{name: "reader terminates", as: "reader", method: "POST", path: tasks + "/QUEUED/terminate", code: 403, want: "terminate_task"},
		{name: "missing token on terminate", as: "none", method: "POST", path: tasks + "/QUEUED/terminate", code: 401, want: "authentication required"},

		// Bodies where none belongs.
		{name: "terminate with a body", method: "POST", path: tasks + "/QUEUED/terminate", body: `{"reason":"stop"}`, code: 400, want: "takes no request body"},
		{name: "retry with a body", method: "POST", path: tasks + "/TERMINATED/retry", body: `{}`, code: 400, want: "takes no request body"},

		// validatedesign and nodefilter.
		{name: "validatedesign without href", method: "POST", path: Prefix + "/validatedesign", body: `{"rel":"design"}`, code: 400, want: `"href" key must be provided`},
		{name: "validatedesign with an empty href", method: "POST", path: Prefix + "/validatedesign", body: `{"href":""}`, code: 400, want: `"href" key must be provided`},
		{name: "validatedesign unknown field", method: "POST", path: Prefix + "/validatedesign", body: `{"href":"SITE","design_ref":"SITE"}`, code: 400, want: `unknown field "design_ref"`},
		{name: "validatedesign relative href", method: "POST", path: Prefix + "/validatedesign", body: `{"href":"site.yaml"}`, code: 400, want: `href: "site.yaml" is a relative path`},
		{name: "nodefilter without design_ref", method: "POST", path: Prefix + "/nodefilter", body: `{"node_filter":null}`, code: 400, want: "design_ref"},
		{name: "nodefilter bad filter", method: "POST", path: Prefix + "/nodefilter", body: `{"design_ref":"SITE","node_filter":{"filter_set_type":"all"}}`, code: 400, want: `node_filter: filter_set_type: "all"`},
		{name: "nodefilter ftp design", method: "POST", path: Prefix + "/nodefilter", body: `{"design_ref":"ftp://x/y"}`, code: 400, want: `unsupported scheme "ftp"`},

		// Design roots.
		{name: "design outside the roots", srv: "roots", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"` + filepath.Join(testutil.ModuleDir(t), "testdata", "drydock-samples") + `/fullsite.yaml"}`, code: 403, want: "only reads design files under " + examples},
		{name: "file URL outside the roots", srv: "roots", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"file:///etc/passwd"}`, code: 403, want: "design_ref: this server only reads design files under"},
		{name: "dot-dot out of the roots", srv: "roots", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"` + examples + `/../go.mod"}`, code: 403, want: "only reads design files under"},
		{name: "parent of a root", srv: "roots", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"` + filepath.Dir(examples) + `"}`, code: 403, want: "only reads design files under"},
		{name: "sibling of a root", srv: "roots", method: "POST", path: tasks, body: `{"action":"deploy_nodes","design_ref":"` + examples + `-other/site"}`, code: 403, want: "only reads design files under"},
		{name: "validatedesign outside the roots", srv: "roots", method: "POST", path: Prefix + "/validatedesign", body: `{"href":"` + filepath.Join(testutil.ModuleDir(t), "testdata", "drydock-samples") + `/fullsite.yaml"}`, code: 403, want: "href: this server only reads design files under"},
		{name: "nodefilter outside the roots", srv: "roots", method: "POST", path: Prefix + "/nodefilter", body: `{"design_ref":"/etc"}`, code: 403, want: "design_ref: this server only reads design files under"},
	}
	if len(cases) < 35 {
		t.Fatalf("only %d cases", len(cases))
	}
	servers := map[string]*testServer{"": def, "small": small, "roots": roots}
	tokens := map[string]string{"": adminToken, "none": "", "reader": readerToken, "deployer": deployerToken, "bogus": unknownToken}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("case %q twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			ts := servers[c.srv]
			path := strings.NewReplacer("QUEUED", queued, "TERMINATED", terminated).Replace(c.path)
			body := strings.ReplaceAll(c.body, "SITE", site)
			before := ts.taskCount(t)
			ts.rec.Reset()
			r := ts.do(t, apiReq{method: c.method, path: path, token: tokens[c.as], body: body, hasBody: c.hasBody, header: c.header})
			assertStatusDoc(t, r, c.code, c.want)
			if w := ts.rec.Writes(); len(w) != 0 {
				t.Errorf("the refused request wrote %v", w)
			}
			if after := ts.taskCount(t); after != before {
				t.Errorf("%d tasks after the refused request, %d before", after, before)
			}
		})
	}
	// The tasks the cases aimed at are untouched.
	if st := def.storeTask(t, queued); st.Status != "queued" || st.Terminate {
		t.Errorf("queued task after the cases: %s, terminate=%v", st.Status, st.Terminate)
	}
	if st := def.storeTask(t, terminated); st.Status != "terminated" || st.Retry != 0 {
		t.Errorf("terminated task after the cases: %s, retry=%d", st.Status, st.Retry)
	}
	// The same requests, corrected, succeed: the servers are not refusing everything.
	if r := roots.post(t, tasks, adminToken, map[string]any{"action": "deploy_nodes", "design_ref": site}); r.Code != http.StatusCreated {
		t.Errorf("a design under the roots: %d %s", r.Code, r.Raw)
	}
	if r := small.post(t, tasks, adminToken, map[string]any{"action": "deploy_nodes", "design_ref": site}); r.Code != http.StatusCreated {
		t.Errorf("a small body on the small server: %d %s", r.Code, r.Raw)
	}
}
