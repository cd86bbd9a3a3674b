package main

import (
	"context"
	"fmt"
	"io"
)

func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "fakebill conform: not built yet")
	return 2
}
