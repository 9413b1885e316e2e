package bench

import (
	"fmt"
	"math/rand/v2"
)

// The visibility run (issue 19): clusterdns with the visibility option on
// against the same server with it off, and stock for reference, under a
// mix asked by one client pod. The server learns a client's namespace from
// its source address, so dnsperf sends from the client pod's address: one
// in 127.0.0.0/8, which is the host's own loopback (no network namespace
// or route is needed to send from it), and which the API server takes as a
// pod's IP.
const (
	// visibilityClientAddr is the client pod's address, and
	// visibilityClientPod its name in visibilityOwn.
	visibilityClientAddr = "127.78.0.1"
	visibilityClientPod  = "visibility-client"
	// visibilityOwn is the client's namespace, visibilityExported the one
	// the Corefile exports to it alone; the other bench namespaces are
	// hidden from it.
	visibilityOwn      = 0
	visibilityExported = 1
)

// visibilityBlock is the option as the visibility run's Corefile gives it:
// bench-1 exported to bench-0 by a label selector (the path an annotation
// takes too), and clients that are not pods shown only what is exported to
// all, as deploy/ would.
var visibilityBlock = fmt.Sprintf(`        visibility {
            export bench-%d to kubernetes.io/metadata.name=bench-%d
            nonpod exported
        }
`, visibilityExported, visibilityOwn)

// VisibilityCost is the visibility run at one size: the uncached
// visibility mix from the client pod, through clusterdns with the option
// off and on (the same Corefile but for it) and through stock, with each
// clusterdns's RSS once it answered the client pod's own name.
type VisibilityCost struct {
	Off, On, Stock *Load
	RSSOff, RSSOn  uint64
	// Pairs are the CPU per query off and on of optionPairs pairs, the
	// first of them Off's and On's.
	Pairs []OptionPair
}

// MixVisibility is the visibility run's mix (visibilityQueries).
const MixVisibility = "visibility"

// visibilityQueries is what the client pod asks: out of every 12 queries,
// 4 A of a ClusterIP Service in its own namespace, 4 in the namespace
// exported to it and 4 in a namespace hidden from it (NXDOMAIN with the
// option on, the address with it off), drawn with a fixed seed from
// Services [0, services).
func visibilityQueries(services int) []string {
	rng := rand.New(rand.NewPCG(3, uint64(services)))
	// Service i is in namespace (i/headlessEvery)%namespaces: a group of
	// headlessEvery consecutive Services shares one, and the group's
	// last is headless.
	groups := services / headlessEvery
	inNamespace := func(n int) string {
		g := rng.IntN(groups/namespaces)*namespaces + n
		i := g*headlessEvery + rng.IntN(headlessEvery-1)
		return serviceName(i) + "." + namespaceOf(i) + ".svc.cluster.local A"
	}
	lines := make([]string, 0, queryLines)
	for len(lines) < queryLines {
		for range 4 {
			lines = append(lines, inNamespace(visibilityOwn))
		}
		for range 4 {
			lines = append(lines, inNamespace(visibilityExported))
		}
		for range 4 {
			lines = append(lines, inNamespace(visibilityExported+1+rng.IntN(namespaces-visibilityExported-1)))
		}
	}
	return lines
}

// visibilityOnOff compares clusterdns's CPU per query with the option on
// to the same server with it off.
func visibilityOnOff(size Size) comparison {
	if size.Visibility == nil {
		return comparison{unit: cpuMetric.unit}
	}
	return optionCost(size.Visibility.Pairs, size.Visibility.Off, size.Visibility.On)
}

// visibilityPairs are the visibility run's on/off pairs, if it ran.
func visibilityPairs(size Size) []OptionPair {
	if size.Visibility == nil {
		return nil
	}
	return size.Visibility.Pairs
}

// visibilityRSS compares clusterdns's RSS with the option on to off.
func visibilityRSS(size Size) comparison {
	if size.Visibility == nil {
		return comparison{unit: "MiB"}
	}
	return comparison{of: mebibytes(size.Visibility.RSSOn), to: mebibytes(size.Visibility.RSSOff), unit: "MiB"}
}

// writeVisibility writes the visibility run of a size, if it ran.
func writeVisibility(md *markdown, size Size) {
	v := size.Visibility
	if v == nil {
		return
	}
	md.heading(3, "Visibility")
	md.paragraph(fmt.Sprintf("One client pod (%s in bench-%d) asks, uncached, A of ClusterIP Services: a third in its own "+
		"namespace, a third in bench-%d (exported to it by the Corefile's label selector), a third in the other, hidden, "+
		"namespaces (NXDOMAIN with the option on). clusterdns runs the bench Corefile with the visibility option off "+
		"and on; stock runs it as it is, for reference. CPU per query on / off: %s; RSS on / off: %s.",
		visibilityClientAddr, visibilityOwn, visibilityExported, visibilityOnOff(size), visibilityRSS(size)))
	var rows [][]string
	for _, run := range []struct {
		name string
		load *Load
		rss  uint64
	}{
		{"clusterdns, visibility off", v.Off, v.RSSOff},
		{"clusterdns, visibility on", v.On, v.RSSOn},
		{serverLabel(Stock), v.Stock, 0},
	} {
		if run.load == nil {
			continue
		}
		rows = append(rows, []string{run.name, figure(run.load.QPS), rcodeSummary(run.load.Rcodes),
			figure(micros(run.load.CPUPerQuery)), figure(run.load.ForeignCPU), whole(run.load.Attempts), figure(mebibytes(run.rss))})
	}
	md.table([]column{{title: "Server"}, {title: "QPS", numeric: true}, {title: "Rcodes"}, {title: "CPU/query (µs)", numeric: true},
		{title: "Foreign CPU (cores)", numeric: true}, {title: "Attempts", numeric: true}, {title: "RSS (MiB)", numeric: true}}, rows)
}
