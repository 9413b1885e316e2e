package clusterdns

import (
	"container/list"
	"context"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The per-client query history (the history option): the last questions
// of each client address, with the rcode and answer it got, for explain's
// "what has this pod been resolving?".
//
// Memory is bounded twice: perClient questions per client, and maxClients
// clients; a new client past that evicts one heard from least recently. An
// entry holds the question's name and the answer's records as they were
// written (shared, not copied), so its size is that of the answer: at the
// defaults (16 per client, 4096 clients) 65,536 entries, about 10 MB for
// answers of one A record.
//
// It is on the query path, so recording costs no allocation for the
// answers the plugin writes itself (the handler records them, see
// historyQuery), no lock all queries share, and a read of the monotonic
// clock only (see history.start).

const (
	defaultHistoryPerClient  = 16
	defaultHistoryMaxClients = 4096

	// The clients are spread over up to maxHistoryShards shards by address,
	// each with its lock and its share of maxClients, evicting its own least
	// recent client: every query takes one shard's lock, not one lock for
	// all. A shard holds at least minHistoryShardClients, so that who is
	// evicted is close to the least recent of all (and exactly that below
	// twice that many clients, with one shard).
	maxHistoryShards       = 64
	minHistoryShardClients = 64
)

// history is the per-client record of recent questions.
type history struct {
	perClient, maxClients int
	// start is the time entries count from: an entry keeps its time as
	// time.Since(start), which reads only the monotonic clock (time.Now
	// reads the wall clock too, and cost as much again: ~28 vs ~55 ns).
	// Shown, start plus that is the wall time to the nanosecond, unless the
	// wall clock was stepped since start (the history starts afresh with
	// every restart and reload).
	start  time.Time
	shards []historyShard
	// shift takes the top bits of an address's hash as its shard (64
	// with one shard: a uint64 shifted by 64 is 0).
	shift uint
}

// historyShard keeps the clients whose addresses hash to it.
type historyShard struct {
	mu         sync.Mutex
	maxClients int
	clients    map[netip.Addr]*list.Element // of *clientHistory
	recent     *list.List                   // most recently heard from first
	// The shards are written by different cores: keep each one's lock off
	// its neighbours' cache line.
	_ [64]byte
}

// clientHistory is one client's ring of entries.
type clientHistory struct {
	addr    netip.Addr
	entries []historyRecord // a ring of perClient, next is the oldest once full
	next    int
}

// historyRecord is one question and what was answered, as recorded.
type historyRecord struct {
	since  time.Duration // after the history's start
	Name   string
	Qtype  uint16
	Rcode  int
	Answer []dns.RR
}

// historyEntry is a record as /history shows it.
type historyEntry struct {
	At     time.Time
	Name   string
	Qtype  uint16
	Rcode  int
	Answer []dns.RR
}

func newHistory(perClient, maxClients int) *history {
	n := 1
	for n < maxHistoryShards && maxClients/(2*n) >= minHistoryShardClients {
		n *= 2
	}
	h := &history{perClient: perClient, maxClients: maxClients, start: time.Now(), shards: make([]historyShard, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
	for i := range h.shards {
		s := &h.shards[i]
		s.maxClients = maxClients / n
		if i < maxClients%n {
			s.maxClients++
		}
		s.clients, s.recent = make(map[netip.Addr]*list.Element), list.New()
	}
	return h
}

// shard returns the shard of addr's client.
func (h *history) shard(addr netip.Addr) *historyShard {
	b := addr.As16()
	x := (binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])) * 0x9e3779b97f4a7c15
	return &h.shards[x>>h.shift]
}

// historyQuery is what the history records of one query: the reply the
// handler writes (record, called before the write, so that a client that
// got its answer finds it), the reply the next plugin writes (a writer of
// the history's, see ClusterDNS.next), or the rcode returned when neither
// wrote one (the server then writes it). Once recorded, it records no
// more. The zero value records nothing.
type historyQuery struct {
	h        *history
	client   netip.Addr
	question dns.Question
	recorded bool
}

// query returns what the history records of r, asked through w.
func (h *history) query(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) historyQuery {
	if h == nil || len(r.Question) == 0 || ctx.Value(lookupForKey{}) != nil {
		// Off, or a lookup of ours on a client's behalf (search_path,
		// ExternalName targets): the client asked one question, recorded
		// once.
		return historyQuery{}
	}
	return historyQuery{h: h, client: clientIP(w), question: r.Question[0]}
}

// record records the query's reply: its rcode and answer records.
func (q *historyQuery) record(rcode int, answer []dns.RR) {
	if q.h == nil || q.recorded {
		return
	}
	q.recorded = true
	q.h.add(q.client, historyRecord{since: time.Since(q.h.start), Name: q.question.Name, Qtype: q.question.Qtype, Rcode: rcode, Answer: answer})
}

// historyWriter records the reply another plugin writes through it,
// before it goes out.
type historyWriter struct {
	dns.ResponseWriter
	q historyQuery
}

func (w *historyWriter) WriteMsg(m *dns.Msg) error {
	w.q.record(m.Rcode, m.Answer)
	return w.ResponseWriter.WriteMsg(m)
}

func (h *history) add(addr netip.Addr, e historyRecord) {
	s := h.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.clients[addr]
	switch {
	case ok:
		s.recent.MoveToFront(el)
	case s.recent.Len() < s.maxClients:
		el = s.recent.PushFront(&clientHistory{addr: addr, entries: make([]historyRecord, 0, h.perClient)})
		s.clients[addr] = el
	default:
		// The new client takes the least recent one's place, and its ring:
		// a full history allocates nothing for clients that come and go.
		el = s.recent.Back()
		c := el.Value.(*clientHistory)
		delete(s.clients, c.addr)
		clear(c.entries) // the answers it shared go with it
		c.addr, c.entries, c.next = addr, c.entries[:0], 0
		s.recent.MoveToFront(el)
		s.clients[addr] = el
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
	s := h.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.clients[addr]
	if !ok {
		return nil
	}
	c := el.Value.(*clientHistory)
	out := make([]historyEntry, 0, len(c.entries))
	for _, ring := range [][]historyRecord{c.entries[c.next:], c.entries[:c.next]} {
		for _, e := range ring {
			out = append(out, historyEntry{At: h.start.Add(e.since), Name: e.Name, Qtype: e.Qtype, Rcode: e.Rcode, Answer: e.Answer})
		}
	}
	return out
}

// size returns how many clients and entries the history holds.
func (h *history) size() (clients, entries int) {
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		for _, el := range s.clients {
			entries += len(el.Value.(*clientHistory).entries)
		}
		clients += len(s.clients)
		s.mu.Unlock()
	}
	return clients, entries
}
