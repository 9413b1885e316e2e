package differential

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// view is a reply as the comparison sees it. Normalized are only:
//   - the message ID: both servers get the same question with the same ID,
//     so there is nothing to normalize;
//   - the order of records inside one RRset (same owner and type) of the
//     answer section, and the order of the authority and additional
//     sections as a whole: stock builds them by iterating client-go's
//     indexers (endpoints of a headless Service, SRV targets and their
//     addresses), whose order is a map's. The order of RRsets in the answer
//     (a CNAME before its target's records) is compared as is;
//   - the sections of a truncated UDP reply: which records fit depends on
//     the order they were built in, a map's in stock. Rcode and flags (TC
//     among them) are compared; TCP, asked the same question, compares
//     every record;
//   - the SOA serial: each server sets it to the time it last saw the
//     cluster change, and the two see the same changes a second apart. A
//     serial within the test's run (clusterdns's may run a few seconds
//     ahead: serialAhead) is written as <serial>; any other is kept, and
//     differs.
type view struct {
	rcode    string
	flags    string // aa tc rd ra ad cd, each present or "-"
	question string
	answer   []string
	ns       []string
	extra    []string
}

func (v *view) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rcode %s flags %s question %s\n", v.rcode, v.flags, v.question)
	for _, s := range []struct {
		name string
		rrs  []string
	}{{"answer", v.answer}, {"authority", v.ns}, {"additional", v.extra}} {
		for _, rr := range s.rrs {
			fmt.Fprintf(&b, "  %-10s %s\n", s.name, rr)
		}
	}
	return b.String()
}

func (v *view) equal(o *view) bool {
	return v.rcode == o.rcode && v.flags == o.flags && v.question == o.question &&
		slices.Equal(v.answer, o.answer) && slices.Equal(v.ns, o.ns) && slices.Equal(v.extra, o.extra)
}

// clone is a copy a predicate may change.
func (v *view) clone() *view {
	c := *v
	c.answer, c.ns, c.extra = slices.Clone(v.answer), slices.Clone(v.ns), slices.Clone(v.extra)
	return &c
}

// takeReply makes v's rcode and sections o's, and keeps v's flags: an
// entry that explains a whole reply away leaves the flags compared.
func (v *view) takeReply(o *view) {
	c := o.clone()
	v.rcode, v.answer, v.ns, v.extra = c.rcode, c.answer, c.ns, c.extra
}

func newView(m *dns.Msg) *view {
	v := &view{rcode: dns.RcodeToString[m.Rcode]}
	flag := func(on bool, name string) string {
		if on {
			return name
		}
		return "-"
	}
	v.flags = strings.Join([]string{
		flag(m.Authoritative, "aa"), flag(m.Truncated, "tc"), flag(m.RecursionDesired, "rd"),
		flag(m.RecursionAvailable, "ra"), flag(m.AuthenticatedData, "ad"), flag(m.CheckingDisabled, "cd"),
	}, " ")
	if len(m.Question) > 0 {
		v.question = m.Question[0].String()
	}
	v.answer = rrsetsSorted(m.Answer)
	v.ns = sortedRRs(m.Ns)
	v.extra = sortedRRs(m.Extra)
	return v
}

// testStart is when the test began: no SOA serial of a server it started
// can be older.
var testStart = time.Now()

func rrStrings(rrs []dns.RR) []string {
	out := make([]string, len(rrs))
	for i, rr := range rrs {
		out[i] = rrString(rr)
	}
	return out
}

// serialAhead bounds how far past the clock a current serial may be:
// clusterdns moves its serial past the last one for each view it publishes
// within a second (RFC 1982: a secondary must see it grow), and at start
// it publishes up to three in one (Services, then pods, then synced).
const serialAhead = 60

// rrString is rr's text form, with a current SOA serial as <serial>.
func rrString(rr dns.RR) string {
	soa, ok := rr.(*dns.SOA)
	if !ok {
		return rr.String()
	}
	now := uint32(time.Now().Unix()) + serialAhead
	if soa.Serial < uint32(testStart.Unix())-1 || soa.Serial > now {
		return rr.String()
	}
	c := *soa
	c.Serial = 0
	return strings.Replace(c.String(), " 0 ", " <serial> ", 1)
}

func sortedRRs(rrs []dns.RR) []string {
	out := rrStrings(rrs)
	slices.Sort(out)
	return out
}

// rrsetsSorted keeps the order of the RRsets, by first appearance, and
// sorts the records inside each.
func rrsetsSorted(rrs []dns.RR) []string {
	type set struct {
		key string
		rrs []string
	}
	var sets []*set
	byKey := map[string]*set{}
	for _, rr := range rrs {
		h := rr.Header()
		key := strings.ToLower(h.Name) + "/" + dns.TypeToString[h.Rrtype]
		s := byKey[key]
		if s == nil {
			s = &set{key: key}
			byKey[key] = s
			sets = append(sets, s)
		}
		s.rrs = append(s.rrs, rrString(rr))
	}
	var out []string
	for _, s := range sets {
		slices.Sort(s.rrs)
		out = append(out, s.rrs...)
	}
	return out
}

// ask sends q to addr with the given ID, from q.from when set. A UDP
// exchange that meets a timeout is retried once: loopback drops nothing,
// but two busy cores can stall a server past the deadline.
func ask(q query, addr string, id uint16) (*view, error) {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	m.Id = id
	c := &dns.Client{Net: q.net, Timeout: 5 * time.Second}
	if q.from != "" {
		ip := net.ParseIP(q.from)
		if q.net == "udp" {
			c.Dialer = &net.Dialer{LocalAddr: &net.UDPAddr{IP: ip}, Timeout: c.Timeout}
		} else {
			c.Dialer = &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: c.Timeout}
		}
	}
	var (
		r   *dns.Msg
		err error
	)
	for try := 0; try < 2; try++ {
		r, _, err = c.Exchange(m, addr)
		if err == nil || (r != nil && r.Truncated) {
			break
		}
	}
	if r == nil {
		return nil, fmt.Errorf("%s to %s: %w", q, addr, err)
	}
	v := newView(r)
	if r.Truncated {
		v.answer, v.ns, v.extra = nil, nil, nil
	}
	return v, nil
}

// axfr transfers zone from addr and returns the stream as one view: the
// answer section holds every record, sorted; the rcode is NOERROR or the
// error the transfer ended with.
func axfr(zoneName, addr string) *view {
	m := new(dns.Msg)
	m.SetAxfr(zoneName)
	m.Id = 4242
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	ch, err := tr.In(m, addr)
	v := &view{rcode: "NOERROR", question: zoneName + " AXFR"}
	if err != nil {
		v.rcode = "error: " + err.Error()
		return v
	}
	var rrs []dns.RR
	for env := range ch {
		if env.Error != nil {
			v.rcode = "error: " + env.Error.Error()
			continue
		}
		rrs = append(rrs, env.RR...)
	}
	// Sorted whole: stock sends services in its indexer's order and an
	// endpoint's records apart from its service's; README says ours come
	// together.
	v.answer = sortedRRs(rrs)
	return v
}

// diffLines shows where two views differ, for the test log.
func diffLines(stock, ours *view) string {
	return "stock:\n" + stock.String() + "clusterdns:\n" + ours.String()
}
