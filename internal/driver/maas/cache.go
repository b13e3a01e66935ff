package maas

import (
	"context"
	"sync"
	"time"
)

// siteCache keeps site-wide lists for node steps, reused for ttl.
type siteCache struct {
	ttl time.Duration
	mu  sync.Mutex
	// each list with when it was read
	fabrics   []fabric
	fabricsAt time.Time
	subnets   []subnet
	subnetsAt time.Time
	tags      map[string]tag
	tagsAt    time.Time
	domains   []domain
	domainsAt time.Time
	power     map[string]map[string]any
	powerAt   time.Time
}

func (s *siteCache) fresh(at time.Time) bool {
	return s.ttl > 0 && !at.IsZero() && time.Since(at) < s.ttl
}

// invalidate drops every list (after PrepareSite changed them).
func (s *siteCache) invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fabricsAt, s.subnetsAt, s.tagsAt, s.domainsAt, s.powerAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
}

// network reads fabrics and subnets (cached unless force).
func (d *Driver) network(ctx context.Context, force bool) ([]fabric, []subnet, error) {
	s := &d.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	if force || !s.fresh(s.fabricsAt) {
		fs, err := d.c.fabrics(ctx)
		if err != nil {
			return nil, nil, err
		}
		s.fabrics, s.fabricsAt = fs, time.Now()
	}
	if force || !s.fresh(s.subnetsAt) {
		ss, err := d.c.subnets(ctx)
		if err != nil {
			return nil, nil, err
		}
		s.subnets, s.subnetsAt = ss, time.Now()
	}
	return s.fabrics, s.subnets, nil
}

// tagList reads the tags (cached unless force).
func (d *Driver) tagList(ctx context.Context, force bool) (map[string]tag, error) {
	s := &d.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	if force || !s.fresh(s.tagsAt) {
		ts, err := d.c.tags(ctx)
		if err != nil {
			return nil, err
		}
		s.tags = make(map[string]tag, len(ts))
		for _, t := range ts {
			s.tags[t.Name] = t
		}
		s.tagsAt = time.Now()
	}
	out := make(map[string]tag, len(s.tags))
	for k, v := range s.tags {
		out[k] = v
	}
	return out, nil
}

// noteTag records a tag created or deleted by this driver in the cache.
func (d *Driver) noteTag(t tag, deleted bool) {
	s := &d.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tags == nil {
		return
	}
	if deleted {
		delete(s.tags, t.Name)
	} else {
		s.tags[t.Name] = t
	}
}

// ensureDomain makes sure a DNS domain exists (domains are needed to rename machines).
func (d *Driver) ensureDomain(ctx context.Context, name string) (created bool, err error) {
	s := &d.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	have := func() bool {
		for _, x := range s.domains {
			if x.Name == name {
				return true
			}
		}
		return false
	}
	if s.fresh(s.domainsAt) && have() {
		return false, nil
	}
	ds, err := d.c.domains(ctx)
	if err != nil {
		return false, err
	}
	s.domains, s.domainsAt = ds, time.Now()
	if have() {
		return false, nil
	}
	var nd domain
	if err := d.c.post(ctx, "domains/", "", form("name", name, "authoritative", "false"), &nd); err != nil {
		return false, err
	}
	s.domains = append(s.domains, nd)
	return true, nil
}

// byPowerAddress returns the machines whose power_address is addr. The map of every
// machine's power parameters is one large answer: lookups running at the same time share one
// read, but a lookup only uses a read that began after the lookup itself did, so that a
// machine enlisted before the lookup is always seen (and an ambiguity always found).
func (d *Driver) byPowerAddress(ctx context.Context, addr string) ([]string, error) {
	start := time.Now()
	s := &d.cache
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.power == nil || s.powerAt.Before(start) {
		at := time.Now()
		params, err := d.c.allPowerParameters(ctx)
		if err != nil {
			return nil, err
		}
		s.power, s.powerAt = params, at
	}
	var hits []string
	for _, sid := range sortedKeys(s.power) {
		if a, ok := s.power[sid]["power_address"].(string); ok && sameHost(a, addr) {
			hits = append(hits, sid)
		}
	}
	return hits, nil
}
