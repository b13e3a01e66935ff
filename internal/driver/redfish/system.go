package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stmcginnis/gofish/schemas"

	"github.com/drydock-go/drydock/internal/driver"
	"github.com/drydock-go/drydock/internal/driver/oob"
)

// maxBody bounds a reply read into memory.
const maxBody = 16 << 20

// verifyReads and verifyInterval bound the read-back of a boot override the BMC accepted (a
// 202 or a settings object may apply it a little later).
const (
	verifyReads    = 5
	verifyInterval = 200 * time.Millisecond
)

// link is a Redfish navigation property.
type link struct {
	ID string `json:"@odata.id"`
}

// num is a number that tolerates vendor quirks: a number, a numeric string, or null/garbage
// (absent).
type num struct {
	v  float64
	ok bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		n.v, n.ok = f, true
	}
	return nil
}

type status struct {
	State  string
	Health string
}

// absent reports a member that is not installed.
func (st status) absent() bool { return strings.EqualFold(st.State, "Absent") }

// computerSystem is the part of a ComputerSystem the driver reads.
type computerSystem struct {
	ODataID      string `json:"@odata.id"`
	ID           string `json:"Id"`
	Name         string
	Manufacturer string
	Model        string
	SKU          string
	SerialNumber string
	PartNumber   string
	UUID         string
	HostName     string
	BiosVersion  string
	PowerState   *string
	Status       status
	Boot         struct {
		Enabled        string   `json:"BootSourceOverrideEnabled"`
		EnabledAllowed []string `json:"BootSourceOverrideEnabled@Redfish.AllowableValues"`
		Target         string   `json:"BootSourceOverrideTarget"`
		TargetAllowed  []string `json:"BootSourceOverrideTarget@Redfish.AllowableValues"`
		Mode           string   `json:"BootSourceOverrideMode"`
		ModeAllowed    []string `json:"BootSourceOverrideMode@Redfish.AllowableValues"`
	}
	ProcessorSummary struct {
		Count                 num
		LogicalProcessorCount num
		Model                 string
	}
	MemorySummary struct {
		TotalSystemMemoryGiB num
	}
	Processors         link
	Memory             link
	EthernetInterfaces link
	SimpleStorage      link
	Storage            link
	Actions            struct {
		Reset struct {
			Target     string   `json:"target"`
			Allowed    []string `json:"ResetType@Redfish.AllowableValues"`
			ActionInfo string   `json:"@Redfish.ActionInfo"`
		} `json:"#ComputerSystem.Reset"`
	}
	Settings struct {
		SettingsObject link
	} `json:"@Redfish.Settings"`
}

func (cs *computerSystem) power() string {
	if cs.PowerState == nil {
		return ""
	}
	return *cs.PowerState
}

// getJSON GETs uri and decodes the reply into each dst; it returns the resource's ETag (the
// ETag header, else @odata.etag). A reply that is not JSON is errMalformed (a refusal).
func (s *session) getJSON(ctx context.Context, uri string, dst ...any) (string, error) {
	what := "GET " + uri
	resp, err := s.c(ctx).Get(uri)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return "", s.classify(err, what)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", s.classify(err, what+": reading the reply")
	}
	if !json.Valid(body) {
		return "", s.classify(fmt.Errorf("%w: the BMC's reply (HTTP %d, %d bytes, %q) is not valid JSON",
			errMalformed, resp.StatusCode, len(body), oneLine(string(body), 40)), what)
	}
	for _, d := range dst {
		if err := json.Unmarshal(body, d); err != nil {
			return "", s.classify(fmt.Errorf("%w: the BMC's reply does not have the expected shape: %v", errMalformed, err), what)
		}
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		var e struct {
			ETag string `json:"@odata.etag"`
		}
		_ = json.Unmarshal(body, &e)
		etag = e.ETag
	}
	return etag, nil
}

// members lists a collection's member URIs, following Members@odata.nextLink.
func (s *session) members(ctx context.Context, uri string) ([]string, error) {
	var out []string
	for page := 0; uri != "" && page < 100; page++ {
		var c struct {
			Members []link
			Next    string `json:"Members@odata.nextLink"`
		}
		if _, err := s.getJSON(ctx, uri, &c); err != nil {
			return nil, err
		}
		for _, m := range c.Members {
			if m.ID != "" {
				out = append(out, m.ID)
			}
		}
		uri = c.Next
	}
	return out, nil
}

// readSystem reads the node's system and its ETag.
func (s *session) readSystem(ctx context.Context) (*computerSystem, string, error) {
	var cs computerSystem
	etag, err := s.getJSON(ctx, s.sysURI, &cs)
	if err != nil {
		return nil, "", err
	}
	return &cs, etag, nil
}

// resolveSystem finds the node's system: the only one, the one with Id system_id, or the one
// with the boot MAC; anything else is refused naming the candidates.
func (s *session) resolveSystem(ctx context.Context) error {
	var root struct{ Systems link }
	if _, err := s.getJSON(ctx, schemas.DefaultServiceRoot, &root); err != nil {
		return err
	}
	if root.Systems.ID == "" {
		return oob.Refused(s.errorf("the BMC at %s offers no Systems collection", s.endpoint))
	}
	uris, err := s.members(ctx, root.Systems.ID)
	if err != nil {
		return err
	}
	if len(uris) == 0 {
		return oob.Refused(s.errorf("the BMC at %s lists no systems in %s", s.endpoint, root.Systems.ID))
	}
	// With a system id, the member whose URI ends in it is read alone: a service managing
	// many systems is not read whole for every session.
	if want := s.st.systemID; want != "" {
		for _, u := range uris {
			if path.Base(strings.TrimSuffix(u, "/")) != want {
				continue
			}
			var cs computerSystem
			if _, err := s.getJSON(ctx, u, &cs); err != nil {
				return err
			}
			if cs.ID == "" || cs.ID == want {
				s.sysURI, s.sysID = strings.TrimSuffix(u, "/"), want
				return nil
			}
		}
	}
	systems := make([]*computerSystem, 0, len(uris))
	for _, u := range uris {
		var cs computerSystem
		if _, err := s.getJSON(ctx, u, &cs); err != nil {
			return err
		}
		if cs.ODataID == "" {
			cs.ODataID = u
		}
		if cs.ID == "" {
			cs.ID = path.Base(strings.TrimSuffix(u, "/"))
		}
		systems = append(systems, &cs)
	}
	sort.Slice(systems, func(i, j int) bool { return systems[i].ID < systems[j].ID })
	var ids []string
	for _, cs := range systems {
		ids = append(ids, cs.ID)
	}
	pick := func(cs *computerSystem) error {
		s.sysURI, s.sysID = strings.TrimSuffix(cs.ODataID, "/"), cs.ID
		return nil
	}
	if want := s.st.systemID; want != "" {
		for _, cs := range systems {
			if cs.ID == want || path.Base(strings.TrimSuffix(cs.ODataID, "/")) == want {
				return pick(cs)
			}
		}
		return oob.Refused(s.errorf("the BMC at %s has no system %q (oob_parameters.system_id); its systems: %s",
			s.endpoint, want, strings.Join(ids, ", ")))
	}
	if len(systems) == 1 {
		return pick(systems[0])
	}
	if s.t.BootMAC == "" {
		return oob.Refused(s.errorf("the BMC at %s has %d systems (%s) and the node names none: set oob_parameters.system_id or the node's boot MAC",
			s.endpoint, len(systems), strings.Join(ids, ", ")))
	}
	want := normMAC(s.t.BootMAC)
	var found []*computerSystem
	for _, cs := range systems {
		nics, err := s.nics(ctx, cs)
		if err != nil {
			return err
		}
		for _, n := range nics {
			if normMAC(n.MACAddress) == want || normMAC(n.PermanentMACAddress) == want {
				found = append(found, cs)
				break
			}
		}
	}
	switch len(found) {
	case 1:
		return pick(found[0])
	case 0:
		return oob.Refused(s.errorf("the BMC at %s has %d systems (%s) and none has an Ethernet interface with the boot MAC %s: set oob_parameters.system_id",
			s.endpoint, len(systems), strings.Join(ids, ", "), s.t.BootMAC))
	}
	var fids []string
	for _, cs := range found {
		fids = append(fids, cs.ID)
	}
	return oob.Refused(s.errorf("the BMC at %s has several systems with the boot MAC %s (%s): set oob_parameters.system_id",
		s.endpoint, s.t.BootMAC, strings.Join(fids, ", ")))
}

// normMAC lower-cases a MAC and drops its separators.
func normMAC(m string) string {
	m = strings.ToLower(strings.TrimSpace(m))
	return strings.NewReplacer(":", "", "-", "", ".", "").Replace(m)
}

// PowerState reads the system's power state. A transition reports the state not yet reached
// (PoweringOn is off, PoweringOff is on) so that verification keeps waiting; Paused is on; an
// unknown or transitional value (Reset, Unknown, null) is a transient error.
func (s *session) PowerState(ctx context.Context) (string, error) {
	cs, _, err := s.readSystem(ctx)
	if err != nil {
		return "", err
	}
	return s.powerOf(cs)
}

func (s *session) powerOf(cs *computerSystem) (string, error) {
	switch p := cs.power(); p {
	case "On", "PoweringOff", "Paused":
		return oob.On, nil
	case "Off", "PoweringOn":
		return oob.Off, nil
	default:
		return "", s.errorf("system %s reports PowerState %q (unknown or in transition)", s.sysID, p)
	}
}

// resetTypes returns the ResetType values the system advertises, nil when it says nothing.
func (s *session) resetTypes(ctx context.Context, cs *computerSystem) ([]string, error) {
	r := cs.Actions.Reset
	if len(r.Allowed) > 0 {
		return r.Allowed, nil
	}
	if r.ActionInfo == "" {
		return nil, nil
	}
	var ai struct {
		Parameters []struct {
			Name            string
			AllowableValues []string
		}
	}
	if _, err := s.getJSON(ctx, r.ActionInfo, &ai); err != nil {
		if errors.Is(err, oob.ErrRefused) {
			return nil, nil // a missing ActionInfo says nothing about the values
		}
		return nil, err
	}
	for _, p := range ai.Parameters {
		if p.Name == "ResetType" {
			return p.AllowableValues, nil
		}
	}
	return nil, nil
}

// SetPower posts ComputerSystem.Reset: on = On (else ForceOn, else PushPowerButton), off =
// ForceOff. Nothing is posted when the system already is, or is heading to, the wanted state.
func (s *session) SetPower(ctx context.Context, on bool) error {
	cs, _, err := s.readSystem(ctx)
	if err != nil {
		return err
	}
	p := cs.power()
	if on && (p == "On" || p == "PoweringOn") || !on && (p == "Off" || p == "PoweringOff") {
		return nil
	}
	allowed, err := s.resetTypes(ctx, cs)
	if err != nil {
		return err
	}
	offers := func(v string) bool { return len(allowed) == 0 || slices.Contains(allowed, v) }
	var rt string
	switch {
	case on && offers("On"):
		rt = "On"
	case on && offers("ForceOn"):
		rt = "ForceOn"
	case on && offers("PushPowerButton"):
		rt = "PushPowerButton"
	case on:
		return oob.Refused(s.errorf("system %s offers no ResetType to power on (it offers: %s)", s.sysID, strings.Join(allowed, ", ")))
	case offers("ForceOff"):
		rt = "ForceOff"
	default:
		return oob.Refused(s.errorf("system %s does not offer ResetType ForceOff, needed for a hard power off (it offers: %s)",
			s.sysID, strings.Join(allowed, ", ")))
	}
	target := cs.Actions.Reset.Target
	if target == "" {
		target = s.sysURI + "/Actions/ComputerSystem.Reset"
	}
	resp, err := s.c(ctx).PostWithHeaders(target, map[string]string{"ResetType": rt}, nil)
	if err != nil {
		return s.classify(err, fmt.Sprintf("POST %s (ResetType %s)", target, rt))
	}
	drain(resp)
	return nil
}

// bootTargets maps boot devices to BootSourceOverrideTarget values.
var bootTargets = map[driver.BootDevice]string{driver.BootPXE: "Pxe", driver.BootDisk: "Hdd"}

// SetNextBoot sets a one-time boot override (Once + Pxe or Hdd) and reads it back.
func (s *session) SetNextBoot(ctx context.Context, dev driver.BootDevice) error {
	target, ok := bootTargets[dev]
	if !ok {
		return oob.Refused(fmt.Errorf("boot device %q is not supported by the Redfish driver (pxe, disk)", dev))
	}
	cs, etag, err := s.readSystem(ctx)
	if err != nil {
		return err
	}
	if a := cs.Boot.TargetAllowed; len(a) > 0 && !slices.Contains(a, target) {
		return oob.Refused(s.errorf("system %s does not allow BootSourceOverrideTarget %s (allowed: %s)", s.sysID, target, strings.Join(a, ", ")))
	}
	if a := cs.Boot.EnabledAllowed; len(a) > 0 && !slices.Contains(a, "Once") {
		return oob.Refused(s.errorf("system %s does not allow BootSourceOverrideEnabled Once (allowed: %s)", s.sysID, strings.Join(a, ", ")))
	}
	if a := cs.Boot.ModeAllowed; s.st.bootMode != "" && len(a) > 0 && !slices.Contains(a, s.st.bootMode) {
		return oob.Refused(s.errorf("system %s does not allow BootSourceOverrideMode %s (allowed: %s)", s.sysID, s.st.bootMode, strings.Join(a, ", ")))
	}
	set := func(cs *computerSystem) bool {
		return cs.Boot.Enabled == "Once" && cs.Boot.Target == target && (s.st.bootMode == "" || cs.Boot.Mode == s.st.bootMode)
	}
	if set(cs) {
		return nil
	}
	boot := map[string]string{"BootSourceOverrideEnabled": "Once", "BootSourceOverrideTarget": target}
	if s.st.bootMode != "" {
		boot["BootSourceOverrideMode"] = s.st.bootMode
	}
	body := map[string]any{"Boot": boot}
	what := fmt.Sprintf("PATCH %s (Boot Once/%s)", s.sysURI, target)
	err = s.patch(ctx, s.sysURI, body, etag)
	if httpStatus(err) == http.StatusPreconditionFailed || httpStatus(err) == http.StatusPreconditionRequired {
		// Someone changed the system since we read it (or the BMC wants If-Match): read the
		// current ETag and try once more.
		if cs, etag, err = s.readSystem(ctx); err != nil {
			return err
		}
		if set(cs) {
			return nil
		}
		err = s.patch(ctx, s.sysURI, body, etag)
	}
	verify := s.sysURI
	if code := httpStatus(err); code >= 400 && code < 500 && code != http.StatusUnauthorized {
		// The system resource refused Boot: where the BMC advertises a settings object (Dell
		// iDRAC10), the override goes there and applies at the next reset.
		if so := strings.TrimSuffix(cs.Settings.SettingsObject.ID, "/"); so != "" && so != s.sysURI {
			var cur computerSystem
			setag, gerr := s.getJSON(ctx, so, &cur)
			if gerr != nil {
				return gerr
			}
			if serr := s.patch(ctx, so, body, setag); serr == nil {
				err, verify = nil, so
			} else {
				err = fmt.Errorf("%w; the settings object %s also refused: %w", err, so, serr)
			}
		}
	}
	if err != nil {
		return s.classify(err, what)
	}
	for i := 1; ; i++ {
		var cur computerSystem
		if _, err := s.getJSON(ctx, verify, &cur); err != nil {
			return err
		}
		if set(&cur) {
			return nil
		}
		if i >= verifyReads {
			return oob.Refused(s.errorf("%s was accepted, but %s reads back BootSourceOverrideEnabled %q, BootSourceOverrideTarget %q",
				what, verify, cur.Boot.Enabled, cur.Boot.Target))
		}
		select {
		case <-ctx.Done():
			return s.errorf("%s: verifying the boot override: %v", what, context.Cause(ctx))
		case <-time.After(verifyInterval):
		}
	}
}

// patch PATCHes body with If-Match when the ETag is known; the error is not classified.
func (s *session) patch(ctx context.Context, uri string, body any, etag string) error {
	var h map[string]string
	if etag != "" {
		h = map[string]string{"If-Match": etag}
	}
	resp, err := s.c(ctx).PatchWithHeaders(uri, body, h)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// httpStatus is the HTTP status of a Redfish error reply, 0 for other errors.
func httpStatus(err error) int {
	var e *schemas.Error
	if errors.As(err, &e) {
		return e.HTTPReturnedStatusCode
	}
	return 0
}

// drain reads and closes a reply so its connection can be reused.
func drain(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
}
