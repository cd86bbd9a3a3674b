// Package version holds the release version shared by the binary, the
// control API and conformance reports.
package version

// Version is the fakebill release. Reports and /_fakebill/health carry it.
const Version = "0.1.0"

// Tool is the name and version reports print, as in "fakebill 0.1.0".
const Tool = "fakebill " + Version
