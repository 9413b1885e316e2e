// Command upstream is the upstream DNS server of the forwarding tests in
// package test: a stock CoreDNS, in its default directive order, with only
// the plugins those tests' upstreams use. erratic delays and drops queries;
// it is not compiled into clusterdns, which is why this is its own binary.
//
// It is built by the tests (test/forward_test.go) and is not a deliverable.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/erratic"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() { coremain.Run() }
