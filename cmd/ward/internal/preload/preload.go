// Package preload starts compiling the embedded rules while Go is still initialising
// ward's other packages.
//
// Every ward process initialises the packages ward serve links (client-go's API scheme,
// controller-runtime, Prometheus): some 10 ms of package init that Go cannot defer or
// skip, and that runs on one goroutine. The rules (parsing and compiling them, another
// 10 ms) need only OPA's packages, which are initialised before those. So the init here
// starts the compile on a goroutine of its own, which a second core runs beside the rest
// of package init, and ward lint picks the result up in engine.New (engine.Preload).
//
// It is an init function because nothing of main runs before every package has
// initialised. It reads os.Args only to start for the commands that load the rules; the
// command line is parsed later, by cobra, as ever. TestInitOrder checks that this init
// runs before the heavy ones.
package preload

import (
	"os"

	"github.com/wardsec/ward/pkg/engine"
)

// embedded is set once, by init, and only read after.
var embedded *engine.Preloaded

func init() {
	if loadsRules(os.Args[1:]) {
		embedded = engine.Preload()
	}
}

// loadsRules reports whether ward's command line names a command that compiles the
// rules and exits: ward serve compiles them too, but the milliseconds do not matter to a
// server, and version and help do not need them.
func loadsRules(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "lint", "rules", "explain":
		return true
	}
	return false
}

// Embedded returns the embedded library being loaded in the background, or nil when this
// process's command line did not ask for it. Pass it to engine.New, which waits for it.
func Embedded() *engine.Preloaded { return embedded }
