// Command standin holds the lab's test doubles for the vendor images that cannot exist here:
// the API7-Dashboard / apisix-dashboard manager-api, the API7-Gateway / APISIX data plane,
// and an httpbin-like echo upstream.
package main

import (
	"fmt"
	"os"

	"api7ha.local/standins/internal/dashboard"
	"api7ha.local/standins/internal/echo"
	"api7ha.local/standins/internal/gateway"
)

// version is the stand-in's own version, printed by `standin version`.
const version = "0.1.0"

const usage = `usage:
  standin dashboard -c conf.yaml [--flavor api7|apisix]   API7-Dashboard / apisix-dashboard manager-api
  standin gateway -c config.yaml                          API7-Gateway / APISIX
  standin echo [--listen 0.0.0.0:8080]                    httpbin-like upstream
  standin version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "dashboard":
		os.Exit(dashboard.Main(args))
	case "gateway":
		os.Exit(gateway.Main(args))
	case "echo":
		os.Exit(echo.Main(args))
	case "version", "--version", "-v":
		fmt.Println("standin", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "standin: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
}
