package orchestrator

import (
	"fmt"
	"time"
)

// Config tunes an orchestrator. The zero value of every field means its default.
type Config struct {
	// ID names this orchestrator instance in leases (default: a random id).
	ID string
	// LeaseFor is how long a claim on a task lasts without renewal (default 30s); the lease is
	// renewed every LeaseFor/3. A crashed orchestrator's tasks are taken over after it expires.
	LeaseFor time.Duration
	// PollInterval is how often the queue is checked for tasks (default 2s; new tasks created
	// through this process are picked up at once), and the default wait between two calls of a
	// long driver operation that did not say when to ask again.
	PollInterval time.Duration
	// MaxTasks bounds the top-level tasks this instance runs at once (default 16).
	MaxTasks int
	// DriverCalls bounds concurrent driver calls across all tasks (default 256).
	DriverCalls int
	// Timeouts overrides step timeouts by step key (e.g. "deploy_node": 1h).
	Timeouts map[string]time.Duration
	// Retries overrides step retries by step key.
	Retries map[string]int
	// RetryBackoff is the base of the exponential backoff between attempts (default 2s, capped
	// at 1m, with jitter).
	RetryBackoff time.Duration
	// NoopDelay is how long a noop step waits (default 0).
	NoopDelay time.Duration
	// NodeWait bounds how long a task waits for nodes busy in another task before failing
	// (default 0: wait as long as it takes, saying so in the task's messages).
	NodeWait time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BootActionURL is the base URL of the boot action API handed to nodes (default
	// http://localhost:9000/api/v1.0/bootactions/; a site must set it to an address its nodes
	// reach).
	BootActionURL string
	// BootActionRecheck is how often bootaction_report re-reads the reports even when the
	// store did not wake it (default 30s).
	BootActionRecheck time.Duration
}

// DefaultBootActionURL is where nodes report when nothing else is configured.
const DefaultBootActionURL = "http://localhost:9000/api/v1.0/bootactions/"

func (c Config) withDefaults() Config {
	if c.ID == "" {
		c.ID = fmt.Sprintf("orch-%d", time.Now().UnixNano())
	}
	if c.LeaseFor <= 0 {
		c.LeaseFor = 30 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.MaxTasks <= 0 {
		c.MaxTasks = 16
	}
	if c.DriverCalls <= 0 {
		c.DriverCalls = 256
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 2 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.BootActionURL == "" {
		c.BootActionURL = DefaultBootActionURL
	}
	if c.BootActionRecheck <= 0 {
		c.BootActionRecheck = 30 * time.Second
	}
	return c
}

func (c Config) timeout(s *Step) time.Duration {
	if d, ok := c.Timeouts[s.Key]; ok && d > 0 {
		return d
	}
	return s.Timeout
}

func (c Config) retries(s *Step) int {
	if n, ok := c.Retries[s.Key]; ok && n >= 0 {
		return n
	}
	return s.Retries
}
