// Package searchpath holds the end-to-end tests of search-list resolution:
// real stub resolvers (glibc through getent, dig and nslookup) reading a
// pod's resolv.conf walk their search list against the clusterdns binary,
// with and without its server-side search path (the search_path option).
//
// Stub resolvers only talk to port 53 of the addresses in /etc/resolv.conf,
// so each test runs in a network and mount namespace of its own: the server
// listens on that namespace's 127.0.0.1:53, an authoritative Knot DNS on its
// loopback is the upstream for names outside the cluster, and the pod's
// resolv.conf is bind-mounted over /etc/resolv.conf. No packet leaves the
// namespace. The tests need root, and the Debian packages util-linux,
// iproute2, libc-bin, bind9-dnsutils and knot.
package searchpath
