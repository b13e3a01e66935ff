// Package oob is what every out-of-band (BMC) driver shares. A protocol package (ipmi,
// redfish, libvirt) implements only Protocol and Session — single requests to one BMC — and
// Driver turns it into a driver.OOBDriver with the behaviour every driver must have:
//
//   - power changes are verified by reading the state back until it is reached or
//     Config.PowerTimeout fires; asking for the current state does nothing and says so; a
//     power cycle is off, verified, then on, verified;
//   - one operation per BMC at a time (keyed by BMC address), and a bounded global pool of
//     concurrent operations;
//   - transient errors (the BMC could not be reached, timed out, answered 5xx) are retried with
//     exponential backoff and jitter; a refusal (bad credentials, an invalid request) is not,
//     and fails the node at once; every request is bounded by its context;
//   - outcomes separate "the BMC refused" (driver.Failed) from "we could not reach it"
//     (driver.Unreachable), and every message names the node and the cause;
//   - credentials come from the design (oob_parameters credential, credential_file or
//     credential_env) and are held as a Secret, which never prints; messages are scrubbed of
//     the password as a last line of defence.
package oob

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/drydock-go/drydock/internal/design"
)

// Secret is a password. It prints as "xxxxx" in every format (fmt, JSON, logs); Reveal gives
// the value to the protocol that sends it.
type Secret struct{ v string }

// NewSecret wraps a password.
func NewSecret(v string) Secret { return Secret{v} }

// Reveal returns the password.
func (s Secret) Reveal() string { return s.v }

// String masks the password.
func (s Secret) String() string { return "xxxxx" }

// GoString masks the password.
func (s Secret) GoString() string { return "xxxxx" }

// MarshalJSON masks the password.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"xxxxx"`), nil }

// MarshalText masks the password (slog, YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte("xxxxx"), nil }

// Target is one node's BMC: where it is and how to log in, resolved from the applied model.
type Target struct {
	Node    string
	Type    string // oob.type: ipmi, redfish, libvirt, manual
	Host    string // BMC address (IP or name); empty for libvirt and manual
	Port    int    // 0: the protocol's default
	User    string
	Pass    Secret
	BootMAC string
	// Params are the node's other oob_parameters (e.g. system_id, libvirt_uri, cipher_suite).
	Params map[string]string
}

// Addr is host:port with the protocol's default port when none is set.
func (t Target) Addr(defaultPort int) string {
	p := t.Port
	if p == 0 {
		p = defaultPort
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(p))
}

// Key identifies the BMC for the one-operation-at-a-time rule.
func (t Target) Key() string {
	if t.Host != "" {
		// One service may manage several systems (a Redfish chassis manager): the system is
		// the unit that takes one operation at a time.
		if id := t.Params["system_id"]; id != "" {
			return t.Type + "://" + t.Addr(0) + "#" + id
		}
		return t.Type + "://" + t.Addr(0)
	}
	if u := t.Params["libvirt_uri"]; u != "" {
		return t.Type + "://" + u + "#" + t.Node
	}
	return t.Type + "://" + t.Node
}

// reserved oob_parameters, consumed into Target fields.
var reserved = map[string]bool{"account": true, "credential": true, "credential_file": true,
	"credential_env": true, "network": true, "port": true, "address": true}

// needsBMCAddress lists the types that talk to a BMC at an address.
var needsBMCAddress = map[string]bool{"ipmi": true, "redfish": true}

// ResolveTarget builds a node's target from its applied model: the BMC address is the node's
// static address on oob_parameters.network (or oob_parameters.address when given, e.g. a host
// name), port from oob_parameters.port; the user is oob_parameters.account and the password
// oob_parameters.credential, or the content of the file credential_file, or the environment
// variable credential_env. Errors name the node and the parameter, never the password.
func ResolveTarget(n *design.Node) (Target, error) {
	t := Target{Node: n.Name, Type: n.OOBType, BootMAC: n.BootMAC, Params: map[string]string{}}
	get := func(k string) string { v, _ := n.OOBParams.Get(k); return strings.TrimSpace(v) }
	for _, kv := range n.OOBParams {
		if !reserved[kv.Key] {
			t.Params[kv.Key] = kv.Value
		}
	}
	t.User = get("account")
	var problems []string
	switch {
	case get("credential") != "":
		v, _ := n.OOBParams.Get("credential")
		t.Pass = NewSecret(v)
	case get("credential_file") != "":
		data, err := os.ReadFile(get("credential_file"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("oob credential_file: %v", errors.Unwrap(err)))
		} else {
			t.Pass = NewSecret(strings.TrimRight(string(data), "\r\n"))
		}
	case get("credential_env") != "":
		v, ok := os.LookupEnv(get("credential_env"))
		if !ok {
			problems = append(problems, fmt.Sprintf("oob credential_env: environment variable %s is not set", get("credential_env")))
		}
		t.Pass = NewSecret(v)
	}
	if p := get("port"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			problems = append(problems, fmt.Sprintf("oob port %q is not a port number", p))
		}
		t.Port = port
	}
	if needsBMCAddress[t.Type] {
		t.Host = get("address")
		if t.Host == "" {
			network := get("network")
			for _, a := range n.Addressing {
				if a.Network == network && network != "" {
					t.Host = a.Address
				}
			}
			if t.Host == "" {
				problems = append(problems, fmt.Sprintf("no BMC address: no static address on oob network %q", network))
			}
		}
		if t.User == "" {
			problems = append(problems, "oob account is missing")
		}
	}
	if len(problems) > 0 {
		return t, fmt.Errorf("node %s (oob type %s): %s", n.Name, t.Type, strings.Join(problems, "; "))
	}
	return t, nil
}
