// Package testkit is what every end-to-end harness of this repository
// shares: a started process with its log, free loopback ports, certificates,
// kubeconfigs, the module's root, the rewriting of a Corefile onto
// loopback, and the realistic pod the bench loads and the pod watch's
// decoding tests build on. Package test, test/searchpath, test/cluster and the test/bench
// module build on it, so each of those is written once.
//
// Its helpers that can fail take a testing.TB and fail the test; those that
// test/cluster calls outside a test's goroutine return errors instead.
package testkit
