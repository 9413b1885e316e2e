package index

import "maps"

// ZoneID numbers a topology zone of the cluster's endpoints (the zonal
// option): an endpoint keeps its zone's number, not its name, in the four
// bytes of Endpoint that were padding, so zones cost published endpoints
// no memory. 0 is no zone: endpoints without one, and every endpoint when
// the option is off.
type ZoneID uint32

// zoneTable numbers the zones the writer has seen. Numbers are never
// reused or taken back, so an entry built earlier stays valid in every
// later view; the table grows with the distinct zone names seen in the
// life of the index, which a cluster keeps to a handful.
type zoneTable struct {
	ids map[string]ZoneID
	// published is set once ids is shared with a view: the next new zone
	// copies it first, as views are read without a lock.
	published bool
}

// id returns the number of zone name ("": 0), numbering it if it is new.
func (t *zoneTable) id(name string) ZoneID {
	if t == nil || name == "" {
		return 0
	}
	if id, ok := t.ids[name]; ok {
		return id
	}
	if t.published || t.ids == nil {
		t.ids = maps.Clone(t.ids)
		if t.ids == nil {
			t.ids = make(map[string]ZoneID)
		}
		t.published = false
	}
	id := ZoneID(len(t.ids) + 1)
	t.ids[name] = id
	return id
}

// publish returns the table for a view, which must not be written to
// after.
func (t *zoneTable) publish() map[string]ZoneID {
	if t == nil {
		return nil
	}
	t.published = true
	return t.ids
}
