package testkit

import (
	"strings"
	"testing"
)

// TestLocalize checks the rewriting itself, and that it refuses what it
// cannot make local: the e2e tests rely on both.
func TestLocalize(t *testing.T) {
	l := Local{
		DNS: 40001, Health: 40002, Ready: 40003, Metrics: 40004, Explain: 40007,
		Upstream:   "127.0.0.1:40005",
		Manifest:   "/tmp/e2e/cluster.yaml",
		Kubeconfig: "/tmp/e2e/kubeconfig",
		APIServer:  "https://127.0.0.1:40006",
		TLSCert:    "/tmp/e2e/c.crt", TLSKey: "/tmp/e2e/c.key", TLSCA: "/tmp/e2e/ca.crt",
		Snapshot: "/tmp/e2e/snapshot",
	}
	tests := []struct {
		name     string
		corefile string
		// noUpstream runs without an upstream for forward, noSnapshot
		// without a snapshot file.
		noUpstream, noSnapshot bool
		// addKubeconfig sets AddKubeconfig.
		addKubeconfig bool
		want          string // the output, when no error is expected
		wantErr       string
	}{
		{
			name: "shipped cluster Corefile",
			corefile: `# comment on :53
.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf {
        max_concurrent 1000
    }
    cache 30
}
`,
			want: `.:40001 {
    errors
    health 127.0.0.1:40002 {
        lameduck 5s
    }
    ready 127.0.0.1:40003
    clusterdns cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    prometheus 127.0.0.1:40004
    forward . 127.0.0.1:40005 {
        max_concurrent 1000
    }
    cache 30
    bind 127.0.0.1
}
`,
		},
		{
			name: "zone keys, bind, addresses, file source",
			corefile: `cluster.local:1053 in-addr.arpa:1053 dns://ip6.arpa:1053 {
    bind 127.0.0.1 ::1
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    prometheus 127.0.0.1:19153 # metrics
    clusterdns {
        source file corefiles/demo-cluster.yaml
    }
}
`,
			want: `cluster.local:40001 in-addr.arpa:40001 dns://ip6.arpa:40001 {
    bind 127.0.0.1
    health 127.0.0.1:40002
    ready 127.0.0.1:40003
    prometheus 127.0.0.1:40004
    clusterdns {
        source file /tmp/e2e/cluster.yaml
    }
}
`,
		},
		{
			name: "API options, implicit port, two blocks",
			corefile: `:53 {
    clusterdns cluster.local {
        kubeconfig /etc/clusterdns/kubeconfig prod
        endpoint https://10.0.0.1:6443 https://10.0.0.2:6443
        tls /etc/k8s/cert /etc/k8s/key /etc/k8s/ca
        snapshot /var/lib/clusterdns/snapshot 30s
    }
}
example.org {
    whoami
}
`,
			want: `.:40001 {
    clusterdns cluster.local {
        kubeconfig /tmp/e2e/kubeconfig prod
        endpoint https://127.0.0.1:40006
        tls /tmp/e2e/c.crt /tmp/e2e/c.key /tmp/e2e/ca.crt
        snapshot /tmp/e2e/snapshot 30s
    }
    bind 127.0.0.1
}
example.org:40001 {
    whoami
    bind 127.0.0.1
}
`,
		},
		{
			name: "a kubeconfig added to a cluster block without one",
			corefile: `.:53 {
    kubernetes cluster.local {
       pods insecure
    }
    clusterdns example.local {
        kubeconfig /etc/kubeconfig
    }
}
`,
			addKubeconfig: true,
			want: `.:40001 {
    kubernetes cluster.local {
       pods insecure
        kubeconfig /tmp/e2e/kubeconfig
    }
    clusterdns example.local {
        kubeconfig /tmp/e2e/kubeconfig
    }
    bind 127.0.0.1
}
`,
		},
		{
			name:          "a kubeconfig cannot be added without a block",
			corefile:      ".:53 {\n    kubernetes cluster.local\n}\n",
			addKubeconfig: true,
			wantErr:       "no block to add a kubeconfig to",
		},
		{
			name:     "a port it does not know stays and fails",
			corefile: ".:53 {\n    transfer {\n        to 10.0.0.1:53\n    }\n}\n",
			wantErr:  "to 10.0.0.1:53",
		},
		{
			name:     "resolv.conf outside forward fails",
			corefile: ".:53 {\n    hosts /etc/resolv.conf\n}\n",
			wantErr:  "/etc/resolv.conf",
		},
		{
			name:       "forward without an upstream fails",
			corefile:   ".:53 {\n    forward . 8.8.8.8\n}\n",
			noUpstream: true,
			wantErr:    "no upstream",
		},
		{
			name:     "explain with and without a block",
			corefile: ".:53 {\n    clusterdns {\n        explain\n    }\n}\nexample.org {\n    clusterdns {\n        explain 127.0.0.1:9154 {\n            history\n        }\n    }\n}\n",
			want:     ".:40001 {\n    clusterdns {\n        explain 127.0.0.1:40007\n    }\n    bind 127.0.0.1\n}\nexample.org:40001 {\n    clusterdns {\n        explain 127.0.0.1:40007 {\n            history\n        }\n    }\n    bind 127.0.0.1\n}\n",
		},
		{
			name:     "two listen ports fail",
			corefile: ".:53 {\n    whoami\n}\n.:5353 {\n    whoami\n}\n",
			wantErr:  "ports 53 and 5353",
		},
		{
			name:       "snapshot without a file fails",
			corefile:   ".:53 {\n    clusterdns {\n        snapshot /var/lib/clusterdns/snapshot\n    }\n}\n",
			noSnapshot: true,
			wantErr:    "gave no file",
		},
		{
			name:     "no server block fails",
			corefile: "# nothing\n",
			wantErr:  "no server block",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lc := l
			if tc.noUpstream {
				lc.Upstream = ""
			}
			if tc.noSnapshot {
				lc.Snapshot = ""
			}
			lc.AddKubeconfig = tc.addKubeconfig
			got, err := Localize(tc.corefile, lc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q; output:\n%s", err, tc.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
			port, err := ListenPort(got)
			if err != nil || port != l.DNS {
				t.Fatalf("ListenPort = %d, %v; want %d", port, err, l.DNS)
			}
		})
	}
}
