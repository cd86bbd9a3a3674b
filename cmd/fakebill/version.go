package main

import (
	"fmt"
	"io"

	"github.com/fakebill/toolkit/internal/version"
)

// runVersion prints "fakebill <version>".
func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "fakebill version: unexpected argument %q\n", args[0])
		return 2
	}
	fmt.Fprintln(stdout, version.Tool)
	return 0
}
