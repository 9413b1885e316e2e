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
	tag := flag.String("tag", "", "image reference recorded in the tarball: the one deploy/ names (make image passes it)")
	arch := flag.String("arch", "amd64", "architecture of the binary")
	flag.Parse()
	if *tag == "" {
		fmt.Fprintln(os.Stderr, "clusterdns-image: -tag is required (deploy/ names a version, never :latest)")
		os.Exit(2)
	}
	digest, err := image.Build(*binary, *out, *tag, *arch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterdns-image:", err)
		os.Exit(1)
	}
	// The digest pins exactly this build: kustomize's images: takes it as
	// `digest:` (README, "Install on a cluster").
	fmt.Printf("%s %s\n%s@%s\n", *out, *tag, *tag, digest)
}
