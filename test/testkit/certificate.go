package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// Certificate is a certificate made for a test, with its P-256 key.
type Certificate struct {
	X509 *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCertificate makes a certificate from tmpl, signed by issuer, or by its
// own key when issuer is nil (self-signed). A zero serial number becomes a
// random one, a zero validity an hour ago to a day from now.
func NewCertificate(tb testing.TB, tmpl *x509.Certificate, issuer *Certificate) *Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl = new(*tmpl)
	if tmpl.SerialNumber == nil {
		if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63)); err != nil {
			tb.Fatal(err)
		}
	}
	if tmpl.NotBefore.IsZero() && tmpl.NotAfter.IsZero() {
		now := time.Now()
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	}
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.X509, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &Certificate{X509: cert, Key: key}
}

// PEM is the certificate in PEM, for a client's trust or a file.
func (c *Certificate) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.X509.Raw})
}

// KeyPEM is the private key in PEM (SEC 1).
func (c *Certificate) KeyPEM(tb testing.TB) []byte {
	tb.Helper()
	der, err := x509.MarshalECPrivateKey(c.Key)
	if err != nil {
		tb.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// TLS is the certificate and key for a tls.Config.
func (c *Certificate) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.X509.Raw}, PrivateKey: c.Key, Leaf: c.X509}
}
