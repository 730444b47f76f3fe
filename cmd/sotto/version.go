package main

import (
	"runtime"
	"runtime/debug"

	"sotto/internal/server"
)

// buildVersion reads the module version and VCS revision from build info.
func buildVersion() server.Version {
	v := server.Version{Version: "dev", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	return v
}
