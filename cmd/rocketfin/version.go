package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped by the build (deploy/Dockerfile):
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/rocketfin
//
// Unstamped, the commit comes from the module's build information (go build in a git checkout).
var (
	version = "dev"
	commit  = ""
)

// buildInfo is the version, the commit (with "+dirty" for a modified checkout) and the Go version.
func buildInfo() (ver, rev, goVersion string) {
	ver, rev = version, commit
	if info, ok := debug.ReadBuildInfo(); ok && rev == "" {
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && rev != "" {
			rev += "+dirty"
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, runtime.Version()
}

func printVersion(w io.Writer) {
	ver, rev, gov := buildInfo()
	fmt.Fprintf(w, "rocketfin %s (commit %s, %s)\n", ver, rev, gov)
}
