package differential

import "strings"

// difference is one way clusterdns may answer other than stock, on
// purpose. allows says whether a pair of replies differs in exactly this
// way and no other; readme is the phrase of README's "Differences you may
// notice" that gives the reason to users, checked to be there.
type difference struct {
	name   string
	reason string
	readme string
	allows func(q query, stock, ours *view) bool
}

// differences are the only differences the test accepts. An entry that
// no query needed fails the test too: the list says what is true now.
var differences = []difference{
	{
		name: "rfc8020-empty-non-terminal",
		reason: "an empty non-terminal (svc.<zone>, <namespace>.svc.<zone>, _tcp.<service>...) is NODATA, " +
			"not NXDOMAIN: below it names exist (RFC 8020), and search-list walks stop where they should",
		readme: "Empty non-terminals",
		allows: func(q query, stock, ours *view) bool {
			return stock.rcode == "NXDOMAIN" && ours.rcode == "NOERROR" && len(ours.answer) == 0 &&
				sameBut(stock, ours, func(v *view) { v.rcode = "" })
		},
	},
}

// sameBut says whether stock and ours are equal once change has been
// applied to copies of both.
func sameBut(stock, ours *view, change func(*view)) bool {
	s, o := stock.clone(), ours.clone()
	change(s)
	change(o)
	return s.equal(o)
}

// owner is the owner name of a record's text form, lower case.
func owner(rr string) string {
	name, _, _ := strings.Cut(rr, "\t")
	return strings.ToLower(name)
}

// rrType is the type of a record's text form.
func rrType(rr string) string {
	f := strings.Split(rr, "\t")
	if len(f) < 4 {
		return ""
	}
	return f[3]
}
