// Package redfishsim is a stateful Redfish service (a simulated BMC) for
// tests and for the simulated site.
//
// It serves DMTF's public-rackmount1 mockup (embedded from mockup/, BSD-3-Clause,
// see mockup/LICENSE-DMTF) with the mockup system cloned into N systems, and
// adds the behaviour a static mockup lacks:
//
//   - authentication: the service root, /redfish, /redfish/v1/odata and the
//     session login are public; everything else needs HTTP Basic (unless
//     Config.RequireSession) or an X-Auth-Token from
//     POST /redfish/v1/SessionService/Sessions (201 + X-Auth-Token + Location;
//     DELETE of the Location logs out);
//   - ComputerSystem.Reset changes PowerState (after Config.PowerDelay, showing
//     PoweringOn/PoweringOff meanwhile), validated against the system's
//     ResetType@Redfish.AllowableValues;
//   - PATCH of Boot (BootSourceOverrideEnabled/Target/Mode,
//     UefiTargetBootSourceOverride), AssetTag and IndicatorLED, validated
//     against the allowable values, with ETag/If-Match (412) handling; a Once
//     override is consumed by the next power-on, and the boot device actually
//     used is recorded (System.Boots);
//   - Redfish error bodies (Base registry message ids) on every 4xx/5xx, 404
//     for unknown URIs and 405 (with Allow) for wrong methods;
//   - fault injection (Faults), globally or per system, changeable at run time.
//
// A system can be backed by the caller's own machine (Machine); by default its
// state lives in memory.
package redfishsim
