// Command clusterdns-image builds the clusterdns container image without a
// container engine (make image); the work is in plugin/build/image.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/clusterdns/clusterdns/plugin/build/image"
)

func main() {
	binary := flag.String("binary", "bin/clusterdns", "static clusterdns binary (CGO_ENABLED=0)")
	out := flag.String("out", "bin/clusterdns-image.tar", "image tarball to write (docker save format)")
	tag := flag.String("tag", "ghcr.io/clusterdns/clusterdns:latest", "image reference recorded in the tarball")
	arch := flag.String("arch", "amd64", "architecture of the binary")
	flag.Parse()
	if err := image.Build(*binary, *out, *tag, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "clusterdns-image:", err)
		os.Exit(1)
	}
}
