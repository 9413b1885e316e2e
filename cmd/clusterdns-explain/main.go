// Command clusterdns-explain asks a clusterdns server's explain endpoint
// (the explain option) why a name resolves as it does for a pod, or what a
// pod has been asking. The endpoint listens on loopback in the clusterdns
// pod: reach it with
//
//	kubectl -n kube-system port-forward deploy/clusterdns 9154
//
// and then
//
//	clusterdns-explain prod/web-7d9f api.dev
//	clusterdns-explain -type AAAA 10.244.1.7 web
//	clusterdns-explain -history prod/web-7d9f
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9154", "HOST:PORT of the explain endpoint")
	qtype := flag.String("type", "A", "record type to explain")
	asJSON := flag.Bool("json", false, "print JSON instead of text")
	history := flag.Bool("history", false, "print CLIENT's recent questions instead (needs history in the explain block)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: clusterdns-explain [flags] CLIENT NAME\n       clusterdns-explain [flags] -history CLIENT\n\nCLIENT is namespace/pod, namespace/ or the pod's IP.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	q := url.Values{}
	path := "/explain"
	switch {
	case *history && len(args) == 1:
		path = "/history"
		q.Set("client", args[0])
	case !*history && len(args) == 2:
		q.Set("client", args[0])
		q.Set("name", args[1])
		q.Set("type", *qtype)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if *asJSON {
		q.Set("format", "json")
	}
	u := url.URL{Scheme: "http", Host: *addr, Path: path, RawQuery: q.Encode()}
	// The endpoint is local (a port-forward): no proxy.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Get(u.String())
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterdns-explain:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	out := os.Stdout
	if resp.StatusCode != http.StatusOK {
		out = os.Stderr
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "clusterdns-explain:", err)
		os.Exit(1)
	}
	if resp.StatusCode != http.StatusOK {
		os.Exit(1)
	}
}
