package maas

import (
	"context"
	"fmt"
	"net/url"
)

// Typed calls, one per MAAS request the driver makes (paths from maas_api.md §5).

func machinePath(sid string) string { return "machines/" + url.PathEscape(sid) + "/" }
func nodePath(sid string) string    { return "nodes/" + url.PathEscape(sid) + "/" }

func (c *client) machine(ctx context.Context, sid string) (*machine, error) {
	var m machine
	if err := c.get(ctx, machinePath(sid), "", nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (c *client) machinesBy(ctx context.Context, q url.Values) ([]machine, error) {
	var ms []machine
	err := c.get(ctx, "machines/", "", q, &ms)
	return ms, err
}

func (c *client) racksBy(ctx context.Context, q url.Values) ([]machine, error) {
	var ms []machine
	err := c.get(ctx, "rackcontrollers/", "", q, &ms)
	return ms, err
}

// machineOp posts an operation on a machine and decodes the machine it returns.
func (c *client) machineOp(ctx context.Context, sid, op string, f url.Values) (*machine, error) {
	if f == nil {
		f = url.Values{}
	}
	var m machine
	if err := c.post(ctx, machinePath(sid), op, f, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (c *client) powerParameters(ctx context.Context, sid string) (map[string]any, error) {
	var p map[string]any
	err := c.get(ctx, machinePath(sid), "power_parameters", nil, &p)
	return p, err
}

func (c *client) allPowerParameters(ctx context.Context) (map[string]map[string]any, error) {
	var p map[string]map[string]any
	err := c.get(ctx, "machines/", "power_parameters", nil, &p)
	return p, err
}

func (c *client) interfaces(ctx context.Context, sid string) ([]iface, error) {
	var is []iface
	err := c.get(ctx, nodePath(sid)+"interfaces/", "", nil, &is)
	return is, err
}

func ifacePath(sid string, id int) string { return fmt.Sprintf("%sinterfaces/%d/", nodePath(sid), id) }

func (c *client) updateIface(ctx context.Context, sid string, id int, f url.Values) (*iface, error) {
	var i iface
	if err := c.put(ctx, ifacePath(sid, id), f, &i); err != nil {
		return nil, err
	}
	return &i, nil
}

func (c *client) ifaceOp(ctx context.Context, sid string, id int, op string, f url.Values) (*iface, error) {
	if f == nil {
		f = url.Values{}
	}
	var i iface
	if err := c.post(ctx, ifacePath(sid, id), op, f, &i); err != nil {
		return nil, err
	}
	return &i, nil
}

func (c *client) createIface(ctx context.Context, sid, op string, f url.Values) (*iface, error) {
	var i iface
	if err := c.post(ctx, nodePath(sid)+"interfaces/", op, f, &i); err != nil {
		return nil, err
	}
	return &i, nil
}

func (c *client) blockDevices(ctx context.Context, sid string) ([]blockDevice, error) {
	var bs []blockDevice
	err := c.get(ctx, nodePath(sid)+"blockdevices/", "", nil, &bs)
	return bs, err
}

func blockPath(sid string, id int) string {
	return fmt.Sprintf("%sblockdevices/%d/", nodePath(sid), id)
}

func partPath(sid string, dev, id int) string {
	return fmt.Sprintf("%sblockdevices/%d/partition/%d", nodePath(sid), dev, id)
}

func (c *client) volumeGroups(ctx context.Context, sid string) ([]volumeGroup, error) {
	var vs []volumeGroup
	err := c.get(ctx, nodePath(sid)+"volume-groups/", "", nil, &vs)
	return vs, err
}

func vgPath(sid string, id int) string { return fmt.Sprintf("%svolume-group/%d/", nodePath(sid), id) }

func (c *client) fabrics(ctx context.Context) ([]fabric, error) {
	var fs []fabric
	err := c.get(ctx, "fabrics/", "", nil, &fs)
	return fs, err
}

func (c *client) subnets(ctx context.Context) ([]subnet, error) {
	var ss []subnet
	err := c.get(ctx, "subnets/", "", nil, &ss)
	return ss, err
}

func (c *client) tags(ctx context.Context) ([]tag, error) {
	var ts []tag
	err := c.get(ctx, "tags/", "", nil, &ts)
	return ts, err
}

func tagPath(name string) string { return "tags/" + url.PathEscape(name) + "/" }

func (c *client) domains(ctx context.Context) ([]domain, error) {
	var ds []domain
	err := c.get(ctx, "domains/", "", nil, &ds)
	return ds, err
}

// scriptResults reads a machine's script results of the given types.
func (c *client) scriptResults(ctx context.Context, sid string, types ...int) ([]scriptResult, error) {
	q := url.Values{"system_id": {sid}}
	if len(types) == 1 {
		q.Set("result_type", itoa(types[0]))
	}
	var rs []scriptResult
	if err := c.get(ctx, "commissioning-results/", "", q, &rs); err != nil {
		return nil, err
	}
	want := map[int]bool{}
	for _, t := range types {
		want[t] = true
	}
	// MAAS keeps the results of earlier runs: keep the newest result of each script (the
	// highest id), in the order MAAS listed them.
	newest := map[[2]string]int{}
	for _, r := range rs {
		k := [2]string{itoa(r.ResultType), r.Name}
		if id, ok := newest[k]; !ok || r.ID > id {
			newest[k] = r.ID
		}
	}
	out := rs[:0]
	for _, r := range rs {
		if want[r.ResultType] && (r.Node == nil || r.Node.SystemID == "" || r.Node.SystemID == sid) &&
			newest[[2]string{itoa(r.ResultType), r.Name}] == r.ID {
			out = append(out, r)
		}
	}
	return out, nil
}

// details reads the machine's commissioning details (BSON: lshw, lldp, ...).
func (c *client) details(ctx context.Context, sid string) (map[string][]byte, error) {
	var raw []byte
	if err := c.get(ctx, machinePath(sid), "details", nil, &raw); err != nil {
		return nil, err
	}
	return decodeBSONBinaries(raw)
}
