// Package bootaction renders the assets of boot actions (drydock/BootAction/v1) for one node:
// the files and systemd units a deployed node downloads as a tar.gz, and the packages that go
// into its cloud-init user data.
//
// # Rendering an asset
//
// An asset's content is its inline data, or the file or URL named by its location (fetched
// through a Fetcher, normally a *ref.Resolver, after the location string itself went through
// the location pipeline). The content then runs through the asset's data pipeline, one segment
// after the other:
//
//	base64_decode  base64 (standard alphabet, padded) to bytes; whitespace and line breaks in
//	               the input are ignored, so YAML block scalars work
//	base64_encode  bytes to base64 (standard alphabet, padded, one line)
//	utf8_decode    checks that the bytes are UTF-8 text; an error names the offset of the first
//	               invalid byte
//	utf8_encode    the same check: Go has no distinction between str and bytes, so the
//	               original's str→bytes step has nothing to convert; valid UTF-8 passes
//	               unchanged
//	template       renders the text as a Go text/template with the node's context (see
//	               TemplateData)
//
// A location pipeline may only contain template. pkg_list assets have no data pipeline: their
// packages are the inline map, or the fetched YAML or JSON map of package name to version (or
// null). Every error names the boot action, the asset (index from 0, and path) and the step,
// for example
//
//	boot action "motd" asset 0 (/etc/motd): data_pipeline segment 2 (template): ...
//
// # Templates
//
// Templates are Go text/template templates, executed with Option("missingkey=error"): a
// reference to a key the context does not have is an error naming the key, where the
// original's Jinja2 rendered an empty string. The context has two keys, node and action, so
// the original's {{ node.hostname }} is written {{ .node.hostname }} here. The functions
// available besides text/template's built-ins are listed in docs/bootactions.md.
// {{ define }}, {{ block }} and {{ template }} are refused (an asset is one template, and
// sub-templates could recurse without bound), and so is text containing a Jinja statement tag
// "{%", which Go would copy to the output unchanged.
//
// Templates come from the site design. They cannot read files, run commands or open network
// connections: text/template can only call the functions it is given and the methods of the
// data it is given, and neither the functions here nor the context (plain maps, slices,
// strings, numbers and booleans) offer any such thing. Their output is bounded by
// Renderer.MaxBytes; their running time is not (a template can loop without writing), which
// is acceptable for input written by the site's operators.
//
// # Why this is written here
//
// The original used Jinja2 and Python's tarfile. Go's standard library does the heavy lifting
// in both cases — text/template for templating, archive/tar and compress/gzip for the
// archives — so what this package adds is small: the template context built from the applied
// site model, the pipeline segments, size limits, error messages that name the asset, and
// reproducible archives (fixed header fields, fixed format, no timestamps). No third-party
// template engine (a Jinja2 clone) is used: none is in the module's dependencies, and a
// second template language inside the service would be one more thing to secure.
package bootaction
