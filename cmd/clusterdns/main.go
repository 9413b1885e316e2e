// Command clusterdns is the clusterdns DNS server: CoreDNS with the
// clusterdns plugin. The plugins and their order are in plugin/build.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/clusterdns/clusterdns/plugin/build"
)

func main() { coremain.Run() }
