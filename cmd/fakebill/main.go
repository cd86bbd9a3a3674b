// Command fakebill runs the fake Bill.com server and its conformance tools.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "conform":
			return runConform(ctx, args[1:], stdout, stderr)
		case "audit":
			return runAudit(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "fakebill: serve is not built yet")
	return 2
}
