package fakebill

import "time"

// Fault is a queued failure. Faults are matched in the order queued, first
// match wins, right after routing. A Fault either answers (Reply), holds
// requests at a barrier (Barrier), or only delays them.
type Fault struct {
	Match FaultMatch `json:"match"`

	// Reply, if set, is answered instead of running the operation.
	Reply *FaultReply `json:"reply,omitempty"`

	// Times the fault fires before it is used up; 0 means until cleared.
	Times int `json:"times,omitempty"`

	// Delay moves the server clock forward before answering; it needs a
	// movable clock.
	Delay time.Duration `json:"-"`

	// RealDelay waits this much wall time before answering.
	RealDelay time.Duration `json:"-"`

	// Barrier holds matching requests until N have arrived.
	Barrier *Barrier `json:"barrier,omitempty"`
}

// FaultMatch selects requests. Exactly one field is set. Path "*" matches
// every operation except Login and ListOrgs, which must be named.
type FaultMatch struct {
	Op      string `json:"op,omitempty"`      // "Login", "Crud/Read/Vendor"
	Path    string `json:"path,omitempty"`    // "List/Vendor.json" or "*"
	Session string `json:"session,omitempty"` // a session label: "session#3"
}

// FaultReply is what a fault answers: a BDC code in the v2 error envelope
// with the service's message, or a bare HTTP status with a plain-text body,
// as an upstream proxy would send.
type FaultReply struct {
	Code   string `json:"code,omitempty"`
	Status int    `json:"status,omitempty"`
}

// Barrier holds every matching request until N have arrived, or Timeout of
// wall time has passed, then lets them all proceed.
type Barrier struct {
	N       int           `json:"n"`
	Timeout time.Duration `json:"-"`
}
