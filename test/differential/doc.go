// Package differential compares clusterdns with stock CoreDNS v1.15.0 on
// one test bed: the same Corefile, `kubernetes` renamed to `clusterdns`,
// every name the cluster's objects define, over UDP and TCP, in every mode
// of the plugin. Its tests are in TestDifferential; the package has no
// code of its own.
package differential
