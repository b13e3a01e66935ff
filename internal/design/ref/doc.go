// Package ref fetches a site design from a design reference (design_ref).
//
// Every Drydock action names its site design by a reference. The forms
// understood by [Resolver.Fetch] are:
//
//   - A path: "site.yaml", "./dir/site.yaml", "/abs/site.yaml". A relative
//     path is taken from the working directory of the process. A path whose
//     first segment looks like a URL scheme ("name:...") is read as a URL;
//     write "./name:..." to force a path.
//   - "file:///abs/site.yaml", also "file://localhost/abs/site.yaml" and
//     "file:/abs/site.yaml". Any other host ("file://relative/x") is
//     rejected as malformed: the original ignored the host, so such a
//     reference silently read "/x".
//   - "http://host/path" and "https://host/path". Userinfo in the URL
//     ("https://user:pass@host/path") is sent as HTTP Basic authentication
//     and removed from the request URL.
//   - "deckhand+http://host/path" and "deckhand+https://host/path": the
//     Deckhand rendered-documents endpoint. The "deckhand+" prefix is
//     removed and the rest fetched like an http(s) reference, with the path
//     and query kept as written. When [Resolver.Token] is set, its token is
//     sent in the X-Auth-Token header (Keystone).
//
// Scheme names are case-insensitive. Anything else (ftp:, other schemes, a
// URL that cannot be parsed, an empty reference) is a [KindMalformed] error
// that lists these forms.
//
// A path or file URL naming a directory gives one [Source] per *.yaml or
// *.yml file below it (extension matched case-insensitively), in byte-wise
// order of the slash-separated path relative to the directory. Files and
// directories whose names start with "." are skipped; symbolic links to
// files are read, symbolic links to directories are not followed.
//
// Limits: every file, every HTTP response and the total of a directory are
// limited to [Resolver.MaxBytes] (64 MiB by default); reading stops at the
// limit and the fetch fails with [KindTooLarge]. Each HTTP attempt, from
// connecting to the last byte of the body, is limited to [Resolver.Timeout]
// (30 s by default). A non-2xx HTTP status is an error that carries the
// status and at most 200 bytes of the body.
//
// Retries: only HTTP fetches are retried, and only after transient
// failures: connection refused, reset or closed early, timeouts, temporary
// DNS failures, and the statuses 429, 502, 503 and 504. Waits grow
// exponentially from [Resolver.BaseBackoff] up to [Resolver.MaxBackoff],
// with jitter, and end early when the context is cancelled. File reads,
// other 4xx and 5xx statuses and size-limit failures are never retried.
//
// Every failure is returned as an [*Error] with an [ErrorKind]; nothing is
// ever returned as a nil result without an error, and nothing is cached, so
// each Fetch sees the current content.
//
// Credentials never appear in errors or in [Source.Name]: references are
// shown through [Redact], and the password, the Basic credential and the
// token are masked in any response body quoted in an error.
package ref
