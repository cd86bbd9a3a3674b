package leak_test

import (
	"fmt"

	"github.com/fakebill/toolkit/internal/leak"
)

func Example() {
	d := leak.New([]leak.Secret{{Field: "password", Value: "correct horse"}}, nil)
	for _, f := range d.Scan("/api/v2/List/Vendor.json", "page=2&Session-Id=abc&q=correct+horse", "") {
		fmt.Println(f.Field, "in", f.Where)
	}
	fmt.Println(d.Redact("GET /x?q=correct%2520horse"))
	// Output:
	// password in query
	// sessionId in query
	// GET /x?q=[REDACTED:password]
}
