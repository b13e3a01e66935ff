package bootaction

import (
	"errors"
	"text/template"

	"github.com/drydock-go/drydock/internal/design"
)

// CheckTemplates parses, without rendering, the templates of a boot action that can be known
// before deployment: the inline data of assets whose data pipeline has a template segment
// (after the segments before it, say base64_decode), and locations with a location pipeline.
// It finds what would fail for every node at deployment — the original's Jinja syntax, a
// sub-template, an unknown function — and returns one *Error per asset that has such a
// problem. Data fetched from a location is only known at deployment.
func CheckTemplates(ba *design.BootAction) []*Error {
	var out []*Error
	for i := range ba.Assets {
		a := &ba.Assets[i]
		if a.Type == design.AssetPkgList {
			continue
		}
		path := a.Path
		if path == "" {
			path = a.Type
		}
		fail := func(step string, err error) {
			out = append(out, &Error{Action: ba.Name, Asset: i, Path: path, Step: step, Err: err})
		}
		if a.Location != "" {
			for _, seg := range a.LocationPipeline {
				if seg == SegTemplate {
					if err := parseOnly(path, a.Location); err != nil {
						fail("location_pipeline (template)", err)
					}
				}
			}
			continue
		}
		t := &templater{name: path, max: DefaultMaxBytes}
		data := []byte(a.Data)
		for j, seg := range a.DataPipeline {
			if seg == SegTemplate {
				if err := parseOnly(path, string(data)); err != nil {
					fail(segmentStep(j), err)
				}
				break // what a template renders is only known at deployment
			}
			f, ok := segments[seg]
			if !ok {
				fail(segmentStep(j), errors.New("unknown segment "+seg))
				break
			}
			var err error
			if data, err = f(data, t); err != nil {
				break // DD4001 reports undecodable data
			}
		}
	}
	return out
}

func segmentStep(i int) string {
	return "data_pipeline segment " + itoa(i) + " (template)"
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// parseOnly parses a template as rendering would, without executing it.
func parseOnly(name, text string) error {
	tp, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return withHint(err)
	}
	return checkTree(tp)
}
