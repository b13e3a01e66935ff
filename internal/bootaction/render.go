package bootaction

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v4"

	"github.com/drydock-go/drydock/internal/design"
	"github.com/drydock-go/drydock/internal/design/ref"
)

// DefaultMaxBytes is the default size limit of one asset: of its input (inline data or the
// fetched location), of each pipeline step's output and of the rendered result.
const DefaultMaxBytes = 1 << 20

// DefaultMode is the mode of a file or unit asset without permissions.
const DefaultMode = 0o600

// Fetcher fetches the content of an asset location. *ref.Resolver satisfies it.
type Fetcher interface {
	Fetch(ctx context.Context, ref string) ([]ref.Source, error)
}

// Renderer renders boot action assets. The zero value renders inline data only (an asset with
// a location is an error) with the default size limit. A Renderer holds no state between calls.
type Renderer struct {
	// Fetcher fetches locations; nil: assets with a location fail. When it is a *ref.Resolver,
	// a copy whose MaxBytes is at most the renderer's limit is used, so a large download stops
	// early instead of being read and then rejected.
	Fetcher Fetcher
	// MaxBytes limits each asset: its input, every pipeline step and the output; 0 (or
	// negative): DefaultMaxBytes.
	MaxBytes int64
}

// Action is a boot action of a node's deployment, with the id the node reports on.
type Action struct {
	Doc *design.BootAction
	ID  string
}

// File is a rendered file or unit asset.
type File struct {
	Path string // absolute path on the node, as written in the asset
	Mode int64  // permission bits; DefaultMode when the asset gives none
	Data []byte
}

func (r *Renderer) max() int64 {
	if r == nil || r.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return r.MaxBytes
}

// RenderNode renders the assets of type assetType (design.AssetFile or design.AssetUnit) of
// the given actions for node n, in order: the actions in the order given, each action's
// assets in document order. Each action's templates see its own action id; info gives the
// rest of the action context.
func (r *Renderer) RenderNode(ctx context.Context, site *design.Site, n *design.Node, actions []Action, assetType string, info NodeInfo) ([]File, error) {
	if assetType != design.AssetFile && assetType != design.AssetUnit {
		return nil, fmt.Errorf("asset type %q: only %s and %s assets are rendered as files", assetType, design.AssetFile, design.AssetUnit)
	}
	files := []File{}
	var node map[string]any
	for _, a := range actions {
		if a.Doc == nil {
			return nil, errors.New("boot action without a document")
		}
		for i := range a.Doc.Assets {
			as := &a.Doc.Assets[i]
			if as.Type != assetType {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if node == nil {
				node = nodeData(site, n)
			}
			data := map[string]any{"node": node, "action": actionData(info.Action(a.ID))}
			f, err := r.renderFile(ctx, a.Doc, i, data)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	return files, nil
}

func label(as *design.Asset) string {
	if as.Path != "" {
		return as.Path
	}
	return as.Type
}

func (r *Renderer) renderFile(ctx context.Context, ba *design.BootAction, i int, data map[string]any) (File, error) {
	as := &ba.Assets[i]
	fail := func(step string, err error) error {
		return &Error{Action: ba.Name, Asset: i, Path: label(as), Step: step, Err: err}
	}
	if !strings.HasPrefix(as.Path, "/") {
		return File{}, fail("path", fmt.Errorf("a %s asset needs an absolute path, got %q", as.Type, as.Path))
	}
	t := &templater{name: as.Path, data: data, max: r.max()}
	var content []byte
	if as.Location != "" {
		b, step, err := r.fetch(ctx, as, t)
		if err != nil {
			return File{}, fail(step, err)
		}
		content = b
	} else {
		if int64(len(as.Data)) > t.max {
			return File{}, fail("data", &limitError{"the inline data", t.max})
		}
		content = []byte(as.Data)
	}
	out, step, err := runPipeline("data_pipeline", as.DataPipeline, content, t)
	if err != nil {
		return File{}, fail(step, err)
	}
	mode := int64(DefaultMode)
	if as.Permissions != nil {
		mode = int64(*as.Permissions)
	}
	return File{Path: as.Path, Mode: mode, Data: out}, nil
}

// fetch renders the location through the location pipeline and fetches it. It also returns
// the step for messages: the failed location_pipeline segment, or the rendered location.
func (r *Renderer) fetch(ctx context.Context, as *design.Asset, t *templater) ([]byte, string, error) {
	for i, seg := range as.LocationPipeline {
		if seg != SegTemplate {
			return nil, fmt.Sprintf("location_pipeline segment %d (%s)", i, seg), errors.New("only template is allowed in a location pipeline")
		}
	}
	loc, step, err := runPipeline("location_pipeline", as.LocationPipeline, []byte(as.Location), &templater{name: "location", data: t.data, max: t.max})
	if err != nil {
		return nil, step, err
	}
	location := string(loc)
	step = fmt.Sprintf("location %q", ref.Redact(location))
	if r == nil || r.Fetcher == nil {
		return nil, step, errors.New("no fetcher is configured for asset locations")
	}
	f := r.Fetcher
	if res, ok := f.(*ref.Resolver); ok {
		cp := ref.Resolver{}
		if res != nil {
			cp = *res
		}
		if cp.MaxBytes <= 0 || cp.MaxBytes > t.max {
			cp.MaxBytes = t.max
		}
		f = &cp
	}
	srcs, err := f.Fetch(ctx, location)
	if err != nil {
		var re *ref.Error
		if errors.As(err, &re) && re.Kind == ref.KindTooLarge {
			err = fmt.Errorf("%w: %w", &limitError{"the fetched content", t.max}, err)
		}
		return nil, step, err
	}
	if len(srcs) != 1 {
		return nil, step, fmt.Errorf("expected one file, got %d (a location must name a file, not a directory)", len(srcs))
	}
	if int64(len(srcs[0].Data)) > t.max {
		return nil, step, &limitError{"the fetched content", t.max}
	}
	return srcs[0].Data, step, nil
}

// Packages merges the pkg_list assets of the given boot actions for node n: inline lists, and
// lists fetched from locations (YAML or JSON maps of package name to version or null). A
// later action's entry replaces an earlier one of the same name. The result is sorted by name;
// an empty Version means any version. pkg_list assets are rendered before the deployment's
// actions get their ids, so action.action_id is empty in their location templates.
func (r *Renderer) Packages(ctx context.Context, site *design.Site, n *design.Node, docs []*design.BootAction, info NodeInfo) ([]design.Pkg, error) {
	merged := map[string]string{}
	var data map[string]any
	for _, ba := range docs {
		for i := range ba.Assets {
			as := &ba.Assets[i]
			if as.Type != design.AssetPkgList {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if data == nil {
				data = TemplateData(site, n, info.Action(""))
			}
			pkgs, err := r.packageList(ctx, ba, i, data)
			if err != nil {
				return nil, err
			}
			for _, p := range pkgs {
				merged[p.Name] = p.Version
			}
		}
	}
	out := make([]design.Pkg, 0, len(merged))
	for name, v := range merged {
		out = append(out, design.Pkg{Name: name, Version: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *Renderer) packageList(ctx context.Context, ba *design.BootAction, i int, data map[string]any) ([]design.Pkg, error) {
	as := &ba.Assets[i]
	fail := func(step string, err error) error {
		return &Error{Action: ba.Name, Asset: i, Path: label(as), Step: step, Err: err}
	}
	if as.Location == "" {
		if as.Data != "" && !as.DataIsMap {
			return nil, fail("data", errors.New("a pkg_list's data must be a map of package name to version or null"))
		}
		return as.PackageList, nil
	}
	b, step, err := r.fetch(ctx, as, &templater{name: "location", data: data, max: r.max()})
	if err != nil {
		return nil, fail(step, err)
	}
	pkgs, err := parsePackages(b)
	if err != nil {
		return nil, fail(step, err)
	}
	return pkgs, nil
}

// parsePackages reads a YAML (or JSON) map of package name to version or null. A version
// written as a number keeps its text ("1.10" stays "1.10").
func parsePackages(b []byte) ([]design.Pkg, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("package list: %v", err)
	}
	m := &doc
	if m.Kind == yaml.DocumentNode && len(m.Content) == 1 {
		m = m.Content[0]
	}
	m = deref(m)
	if m.Kind != yaml.MappingNode {
		return nil, errors.New("package list: expected a map of package name to version or null")
	}
	var pkgs []design.Pkg
	for j := 0; j+1 < len(m.Content); j += 2 {
		k, v := deref(m.Content[j]), deref(m.Content[j+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" || k.ShortTag() == "!!null" {
			return nil, fmt.Errorf("package list line %d: a package name must be a non-empty string", k.Line)
		}
		p := design.Pkg{Name: k.Value}
		switch {
		case v.Kind != yaml.ScalarNode:
			return nil, fmt.Errorf("package list line %d: the version of %s must be a string or null", v.Line, k.Value)
		case v.ShortTag() != "!!null":
			p.Version = v.Value
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

// CloudConfig is cloud-init user data installing the packages: "#cloud-config", then a
// packages list whose entries are a name, or [name, version] when a version is set. Every
// name and version is double-quoted, so that YAML 1.1 readers (cloud-init) cannot take
// "1.10" for a number or "on" for a boolean. It is "" when there are no packages.
func CloudConfig(pkgs []design.Pkg) string {
	if len(pkgs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("#cloud-config\npackages:\n")
	for _, p := range pkgs {
		if p.Version == "" {
			fmt.Fprintf(&b, "  - %s\n", strconv.Quote(p.Name))
		} else {
			fmt.Fprintf(&b, "  - [%s, %s]\n", strconv.Quote(p.Name), strconv.Quote(p.Version))
		}
	}
	return b.String()
}
