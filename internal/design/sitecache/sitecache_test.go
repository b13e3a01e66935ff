package sitecache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSingleBuildPerKey(t *testing.T) {
	var c Cache[string, int]
	var builds atomic.Int32
	release := make(chan struct{})
	build := func(context.Context) (int, error) {
		builds.Add(1)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.Get(context.Background(), "a", build); v != 7 || err != nil {
				t.Errorf("Get: %v %v", v, err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
}

func TestFailuresAreNotKept(t *testing.T) {
	var c Cache[string, int]
	n := 0
	build := func(context.Context) (int, error) {
		n++
		if n == 1 {
			return 0, errors.New("boom")
		}
		return n, nil
	}
	if _, err := c.Get(context.Background(), "a", build); err == nil {
		t.Fatal("the first build fails")
	}
	if v, err := c.Get(context.Background(), "a", build); v != 2 || err != nil {
		t.Errorf("after a failure: %v %v", v, err)
	}
}

func TestLeastRecentlyUsedGoes(t *testing.T) {
	c := Cache[int, int]{Size: 2}
	builds := map[int]int{}
	get := func(k int) {
		_, _ = c.Get(context.Background(), k, func(context.Context) (int, error) { builds[k]++; return k, nil })
	}
	get(1)
	get(2)
	get(1) // 1 is now the most recent
	get(3) // evicts 2
	get(1)
	get(2)
	if builds[1] != 1 || builds[2] != 2 || builds[3] != 1 {
		t.Errorf("builds %v", builds)
	}
}

func TestWaiterCancellation(t *testing.T) {
	var c Cache[string, int]
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = c.Get(context.Background(), "a", func(context.Context) (int, error) { close(started); <-release; return 1, nil })
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "a", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled waiter: %v", err)
	}
	close(release)
}
