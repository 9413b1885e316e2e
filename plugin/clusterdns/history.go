package clusterdns

import (
	"container/list"
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The per-client query history (the history option): the last questions
// of each client address, with the rcode and answer it got, for explain's
// "what has this pod been resolving?".
//
// Memory is bounded twice: perClient questions per client, and maxClients
// clients; a new client past that evicts the one heard from least
// recently. An entry holds the question's name and the answer's records as
// they were written (shared, not copied), so its size is that of the
// answer: at the defaults (16 per client, 4096 clients) 65,536 entries,
// about 10 MB for answers of one A record.

const (
	defaultHistoryPerClient  = 16
	defaultHistoryMaxClients = 4096
)

// history is the per-client record of recent questions.
type history struct {
	perClient, maxClients int

	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // of *clientHistory
	recent  *list.List                   // most recently heard from first
}

// clientHistory is one client's ring of entries.
type clientHistory struct {
	addr    netip.Addr
	entries []historyEntry // a ring of perClient, next is the oldest once full
	next    int
}

// historyEntry is one question and what was answered.
type historyEntry struct {
	At     time.Time
	Name   string
	Qtype  uint16
	Rcode  int
	Answer []dns.RR
}

func newHistory(perClient, maxClients int) *history {
	return &history{perClient: perClient, maxClients: maxClients, clients: make(map[netip.Addr]*list.Element), recent: list.New()}
}

// serve runs next for the query and records what it answered: the reply
// written, or the rcode returned when next wrote none (the server then
// writes it).
func (h *history) serve(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, next func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error)) (int, error) {
	if ctx.Value(lookupForKey{}) != nil || len(r.Question) == 0 {
		// A lookup of ours on a client's behalf (search_path, ExternalName
		// targets): the client asked one question, recorded once.
		return next(ctx, w, r)
	}
	rw := &historyWriter{ResponseWriter: w, h: h, q: r.Question[0]}
	rc, err := next(ctx, rw, r)
	if !rw.written {
		h.add(clientIP(w), historyEntry{At: time.Now(), Name: rw.q.Name, Qtype: rw.q.Qtype, Rcode: rc})
	}
	return rc, err
}

// historyWriter records the reply written through it, before it goes out:
// a client that has its answer finds it in the history.
type historyWriter struct {
	dns.ResponseWriter
	h       *history
	q       dns.Question
	written bool
}

func (w *historyWriter) WriteMsg(m *dns.Msg) error {
	if !w.written {
		w.written = true
		w.h.add(clientIP(w.ResponseWriter), historyEntry{At: time.Now(), Name: w.q.Name, Qtype: w.q.Qtype, Rcode: m.Rcode, Answer: m.Answer})
	}
	return w.ResponseWriter.WriteMsg(m)
}

func (h *history) add(addr netip.Addr, e historyEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	el, ok := h.clients[addr]
	if !ok {
		if h.recent.Len() >= h.maxClients {
			oldest := h.recent.Back()
			delete(h.clients, oldest.Value.(*clientHistory).addr)
			h.recent.Remove(oldest)
		}
		el = h.recent.PushFront(&clientHistory{addr: addr, entries: make([]historyEntry, 0, h.perClient)})
		h.clients[addr] = el
	} else {
		h.recent.MoveToFront(el)
	}
	c := el.Value.(*clientHistory)
	if len(c.entries) < h.perClient {
		c.entries = append(c.entries, e)
		return
	}
	c.entries[c.next] = e
	c.next = (c.next + 1) % h.perClient
}

// of returns the client's entries, oldest first.
func (h *history) of(addr netip.Addr) []historyEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	el, ok := h.clients[addr]
	if !ok {
		return nil
	}
	c := el.Value.(*clientHistory)
	return append(slices.Clone(c.entries[c.next:]), c.entries[:c.next]...)
}

// size returns how many clients and entries the history holds.
func (h *history) size() (clients, entries int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, el := range h.clients {
		entries += len(el.Value.(*clientHistory).entries)
	}
	return len(h.clients), entries
}
