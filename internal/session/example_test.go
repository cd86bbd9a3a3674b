package session_test

import (
	"fmt"
	"time"

	"github.com/fakebill/toolkit/internal/session"
)

func Example() {
	tb, err := session.New(session.Config{IdleTimeout: 35 * time.Minute, Max: 100})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id, label, _ := tb.Create(1, start)
	fmt.Println("session", label, len(id), "characters")

	for _, idle := range []time.Duration{
		35*time.Minute - time.Millisecond, // the lookup does not touch
		35 * time.Minute,
		70 * time.Minute,
	} {
		_, st := tb.Lookup(id, start.Add(idle), false)
		fmt.Println(idle, st)
	}
	_, minted := tb.Minted(id)
	fmt.Println("still recognized:", minted)
	// Output:
	// session 1 43 characters
	// 34m59.999s live
	// 35m0s expired
	// 1h10m0s gone
	// still recognized: true
}
