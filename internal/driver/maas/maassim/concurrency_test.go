package maassim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestConcurrentLifecycles drives many machines through commission, allocate, deploy and
// release from many goroutines at once, with the clock moved by all of them (run with -race).
func TestConcurrentLifecycles(t *testing.T) {
	clk := newClock()
	s, _, c := newServer(t, Config{Now: clk.Now, Delays: testDelays})
	must(t, c.post("subnets/", vals("cidr", "10.0.0.0/22", "gateway_ip", "10.0.0.1")), 200)
	const machines, workers = 64, 16
	ids := make([]string, machines)
	bmcs := make([]*fakeBMC, machines)
	for i := range ids {
		bmcs[i] = &fakeBMC{}
		spec := machineSpec(fmt.Sprintf("c%03d", i), bmcs[i])
		spec.Interfaces[0].Subnet = "10.0.0.0/22"
		ids[i] = s.AddMachine(spec)
	}
	var wg sync.WaitGroup
	errs := make(chan string, machines*8)
	expect := func(r resp, status int, what string) bool {
		if r.status != status {
			errs <- fmt.Sprintf("%s: %s", what, r)
			return false
		}
		return true
	}
	waitFor := func(sid, want string) bool {
		for i := 0; i < 200; i++ {
			m := c.get("machines/"+sid+"/", nil)
			if m.status != 200 {
				errs <- fmt.Sprintf("poll %s: %s", sid, m)
				return false
			}
			if st, _ := m.obj(t)["status_name"].(string); st == want {
				return true
			}
			clk.Advance(200 * time.Millisecond)
		}
		errs <- fmt.Sprintf("%s never reached %s", sid, want)
		return false
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < machines; i += workers {
				sid := ids[i]
				if !expect(c.post("machines/"+sid+"/?op=commission", vals("enable_ssh", "0")), 200, "commission") ||
					!waitFor(sid, "Ready") {
					continue
				}
				if !expect(c.post("machines/?op=allocate", vals("system_id", sid)), 200, "allocate") {
					continue
				}
				expect(c.get("machines/", vals("hostname", fmt.Sprintf("c%03d", i))), 200, "list")
				expect(c.get("nodes/"+sid+"/interfaces/", nil), 200, "interfaces")
				expect(c.get("nodes/"+sid+"/blockdevices/", nil), 200, "blockdevices")
				if !expect(c.post("machines/"+sid+"/?op=deploy", vals("distro_series", "jammy")), 200, "deploy") ||
					!waitFor(sid, "Deployed") {
					continue
				}
				if _, ok := s.Snapshot(sid); !ok {
					errs <- "snapshot " + sid
				}
				if expect(c.post("machines/"+sid+"/?op=release", nil), 200, "release") {
					waitFor(sid, "Ready")
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Every deployed machine got its own address from the subnet.
	seen := map[string]bool{}
	for i, sid := range ids {
		ms, _ := s.Snapshot(sid)
		if ms.StatusName != "Ready" || ms.PowerState != "off" {
			t.Errorf("machine %d: %s power %s", i, ms.StatusName, ms.PowerState)
		}
		calls := bmcs[i].Calls()
		if len(calls) < 4 || calls[0] != "boot pxe" || calls[len(calls)-1] != "off" {
			t.Errorf("machine %d BMC calls %v", i, calls)
		}
	}
	_ = seen
}

// TestConcurrentHandlers hits the handler directly from many goroutines with mixed reads and
// writes on shared objects (fabrics, tags, subnets).
func TestConcurrentHandlers(t *testing.T) {
	s := New(Config{SkipNonceCheck: true})
	for i := 0; i < 50; i++ {
		s.AddMachine(MachineSpec{Hostname: fmt.Sprintf("h%02d", i)})
	}
	ids := s.Machines()
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				var req *http.Request
				switch i % 5 {
				case 0:
					req = httptest.NewRequest("GET", Prefix+"machines/"+ids[(g+i)%len(ids)]+"/", nil)
				case 1:
					body, ct := encodeBody(vals("name", fmt.Sprintf("t%d-%d", g, i)), encForm)
					req = httptest.NewRequest("POST", Prefix+"tags/", body)
					req.Header.Set("Content-Type", ct)
				case 2:
					body, ct := encodeBody(vals("add", ids[i%len(ids)]), encDrydock)
					req = httptest.NewRequest("POST", Prefix+fmt.Sprintf("tags/t%d-%d/?op=update_nodes", g, i-1), body)
					req.Header.Set("Content-Type", ct)
				case 3:
					req = httptest.NewRequest("GET", Prefix+"machines/?hostname=h07", nil)
				case 4:
					body, ct := encodeBody(vals("name", fmt.Sprintf("f%d-%d", g, i)), encDrydock)
					req = httptest.NewRequest("POST", Prefix+"fabrics/", body)
					req.Header.Set("Content-Type", ct)
				}
				req.Header.Set("Authorization", authHeader(s.APIKey(), ""))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != 200 {
					mu.Lock()
					bad++
					t.Errorf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	if s.Requests() != 32*40 {
		t.Errorf("Requests() = %d", s.Requests())
	}
}

func benchServer(b *testing.B, n int) (*Server, []string) {
	s := New(Config{SkipNonceCheck: true})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.AddMachine(MachineSpec{Hostname: fmt.Sprintf("bench%04d", i),
			Interfaces: []NICSpec{{Name: "eno1"}, {Name: "eno2"}}, Disks: []DiskSpec{{Name: "sda"}, {Name: "sdb"}}})
	}
	return s, ids
}

// BenchmarkGetMachine: GET machines/{id}/ among 1,000 machines, in parallel.
func BenchmarkGetMachine(b *testing.B) {
	s, ids := benchServer(b, 1000)
	auth := authHeader(s.APIKey(), "")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := httptest.NewRequest("GET", Prefix+"machines/"+ids[i%len(ids)]+"/", nil)
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			i++
		}
	})
}

// BenchmarkFindByHostname: GET machines/?hostname= among 1,000 machines (Drydock's lookup).
func BenchmarkFindByHostname(b *testing.B) {
	s, _ := benchServer(b, 1000)
	auth := authHeader(s.APIKey(), "")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", Prefix+fmt.Sprintf("machines/?hostname=bench%04d", i%1000), nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
