package testkit

import "testing"

func TestDashed(t *testing.T) {
	for ip, want := range map[string]string{
		"10.244.1.7":  "10-244-1-7",
		"fd00:244::5": "fd00-244--5",
		"::1":         "--1",
		"not an IP":   "not an IP",
	} {
		if got := Dashed(ip); got != want {
			t.Errorf("Dashed(%q) = %q, want %q", ip, got, want)
		}
	}
}
