package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"
)

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		Subject: pkix.Name{CommonName: name},
		IsCA:    true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
}

// A certificate NewCertificate signs with a CA verifies against it, and
// its PEM pair loads as a TLS key pair.
func TestNewCertificate(t *testing.T) {
	ca := NewCertificate(t, caTemplate("test-ca"), nil)
	leaf := NewCertificate(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "server"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}, ca)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.PEM()) {
		t.Fatal("CA PEM does not parse")
	}
	if _, err := leaf.X509.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("leaf does not verify against its CA: %v", err)
	}
	if _, err := ca.X509.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("self-signed CA does not verify against itself: %v", err)
	}
	if _, err := tls.X509KeyPair(leaf.PEM(), leaf.KeyPEM(t)); err != nil {
		t.Errorf("PEM pair: %v", err)
	}
	if leaf.TLS().Leaf != leaf.X509 {
		t.Error("TLS() has no leaf")
	}
}
