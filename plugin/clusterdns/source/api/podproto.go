package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/clusterdns/clusterdns/plugin/clusterdns/object"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// The pod watch's events are read straight from their protobuf into what
// the index keeps. client-go decodes a watch event in three copies: the
// frame's WatchEvent copies the object's bytes (RawExtension), its
// runtime.Unknown envelope copies them again, and the Pod is decoded
// whole, managedFields, spec and status: a relist of 150k pods allocated
// 3.2 GB, about 21 KB a pod, to keep about 150 bytes of each. That
// garbage, collected under the tight memory limit of a relist (memory.go)
// in hundreds of cycles, was the relist's peak.
//
// podCodecs is the pod REST client's codecs: client-go's, but for the
// protobuf watch (application/vnd.kubernetes.protobuf;stream=watch) two
// decoders take the place of its own, so that everything else stays
// client-go's (the watch's retries, its framing into one buffer reused
// from frame to frame, the JSON a server may answer with instead, errors
// as watch events, the LIST pages): watchEventDecoder reads each frame's
// WatchEvent without copying the object's bytes, and podDecoder reads a
// v1 Pod from them into a slimPod, with object.PodBuilder, leaving any
// other object (a Status, on an ERROR event) to client-go's decoder.
//
// They read protobuf as the generated code of k8s.io/api (gogo) does,
// not as google.golang.org/protobuf's protowire does: a frame client-go
// accepts must decode here to the same, and protowire refuses some it
// accepts (a varint's tenth byte above 1, a tag number beyond 2^29
// truncated to 32 bits, a group whose end does not name its start).
type podCodecs struct {
	runtime.NegotiatedSerializer
	infos []runtime.SerializerInfo
}

func newPodCodecs(ns runtime.NegotiatedSerializer) podCodecs {
	infos := append([]runtime.SerializerInfo(nil), ns.SupportedMediaTypes()...)
	for i := range infos {
		in := &infos[i]
		if in.MediaType != runtime.ContentTypeProtobuf || in.StreamSerializer == nil {
			continue
		}
		in.Serializer = podDecoder{in.Serializer}
		stream := *in.StreamSerializer
		stream.Serializer = watchEventDecoder{stream.Serializer}
		in.StreamSerializer = &stream
	}
	return podCodecs{NegotiatedSerializer: ns, infos: infos}
}

func (c podCodecs) SupportedMediaTypes() []runtime.SerializerInfo { return c.infos }

// watchEventDecoder decodes a protobuf watch frame, a metav1.WatchEvent,
// into a WatchEvent whose object's bytes are the frame's own: client-go's
// watch decodes the object (podDecoder) before it reads the next frame
// into the same buffer.
type watchEventDecoder struct{ runtime.Serializer }

func (d watchEventDecoder) Decode(data []byte, gvk *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	ev, ok := into.(*metav1.WatchEvent)
	if !ok {
		return d.Serializer.Decode(data, gvk, into)
	}
	if len(data) == 0 {
		return nil, nil, errors.New("empty watch event")
	}
	*ev = metav1.WatchEvent{}
	known := false
	err := fields(data, func(f field) error {
		switch f.num {
		case 1:
			if f.typ != bytesField {
				return wrongType("WatchEvent.type", f)
			}
			var t string
			if t, known = eventType(f.val); !known {
				t = string(f.val)
			}
			ev.Type = t
		case 2:
			if f.typ != bytesField {
				return wrongType("WatchEvent.object", f)
			}
			return fields(f.val, func(f field) error {
				if f.num != 1 {
					return nil
				}
				if f.typ != bytesField {
					return wrongType("RawExtension.raw", f)
				}
				// As the generated code: present, if empty, is not nil.
				ev.Object.Raw = f.val[:len(f.val):len(f.val)]
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("watch event: %w", err)
	}
	if !known {
		ev.Object.Raw = append(append([]byte(nil), unknownEventMark...), ev.Type...)
		ev.Type = string(watch.Bookmark)
	}
	return ev, gvk, nil
}

// eventType returns the watch's event types as constants, not as a
// string allocated for each event, and whether b is one.
func eventType(b []byte) (string, bool) {
	for _, t := range [...]watch.EventType{watch.Added, watch.Modified, watch.Deleted, watch.Bookmark, watch.Error} {
		if string(b) == string(t) {
			return string(t), true
		}
	}
	return "", false
}

// unknownEventMark starts the object watchEventDecoder gives an event of
// a type client-go's watch does not know (it knows five), then that type:
// the event goes on as a bookmark, whose object podDecoder decodes as an
// unknownEvent, which the pod watch logs and skips. client-go would end
// the watch with an error, and the watch, resumed from the same version,
// would meet the same event again. No object starts so: in protobuf each
// starts with protobufMagic.
var unknownEventMark = []byte("clusterdns: event of an unknown type\x00")

// unknownEvent is the object of an event of an unknown type.
type unknownEvent struct{ eventType string }

func (e *unknownEvent) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (e *unknownEvent) DeepCopyObject() runtime.Object {
	c := *e
	return &c
}

// podDecoder decodes a v1 Pod in its envelope (the "k8s\x00" magic and a
// runtime.Unknown) into a slimPod; anything else, and a decode into an
// object (a LIST's Into), is its serializer's.
type podDecoder struct{ runtime.Serializer }

// protobufMagic starts every object in protobuf (k8s.io/apimachinery's
// protobuf serializer).
var protobufMagic = []byte("k8s\x00")

func (d podDecoder) Decode(data []byte, gvk *schema.GroupVersionKind, into runtime.Object) (runtime.Object, *schema.GroupVersionKind, error) {
	if into == nil && bytes.HasPrefix(data, unknownEventMark) {
		return &unknownEvent{eventType: string(data[len(unknownEventMark):])}, gvk, nil
	}
	if into != nil || len(data) <= len(protobufMagic) || !bytes.HasPrefix(data, protobufMagic) {
		return d.Serializer.Decode(data, gvk, into)
	}
	raw, ok := podBytes(data[len(protobufMagic):])
	if !ok {
		return d.Serializer.Decode(data, gvk, into)
	}
	p, err := decodePod(raw)
	if err != nil {
		return nil, nil, err
	}
	return p, &schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, nil
}

// podBytes returns the Pod's protobuf in a runtime.Unknown, if it holds
// a v1 Pod.
func podBytes(unknown []byte) ([]byte, bool) {
	var apiVersion, kind, raw []byte
	err := fields(unknown, func(f field) error {
		switch {
		case f.num == 1 && f.typ == bytesField:
			return fields(f.val, func(f field) error {
				switch {
				case f.num == 1 && f.typ == bytesField:
					apiVersion = f.val
				case f.num == 2 && f.typ == bytesField:
					kind = f.val
				}
				return nil
			})
		case f.num == 2 && f.typ == bytesField:
			raw = f.val
		}
		return nil
	})
	return raw, err == nil && string(apiVersion) == "v1" && string(kind) == "Pod"
}

// slimPod is what the pod watch reads of a pod: the index's object, or
// nil for a pod that has stopped, or why it does not convert (FromPod's
// result), and whether it is the bookmark that ends a streaming list's
// initial events. A runtime.Object, to come through client-go's watch.
type slimPod struct {
	namespace, name, resourceVersion string
	pod                              *object.Pod
	err                              error
	initialEventsEnd                 bool
}

func (p *slimPod) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies p, but not its Pod, which is never changed.
func (p *slimPod) DeepCopyObject() runtime.Object {
	c := *p
	return &c
}

// slimPodOf converts a decoded pod: the JSON watch's, a LIST page's.
func slimPodOf(p *corev1.Pod) *slimPod {
	pod, err := object.FromPod(p)
	return &slimPod{namespace: p.Namespace, name: p.Name, resourceVersion: p.ResourceVersion, pod: pod, err: err,
		initialEventsEnd: p.Annotations[metav1.InitialEventsAnnotationKey] == "true"}
}

// decodePod reads a v1 Pod's protobuf: metadata (field 1) and status
// (field 3) of k8s.io/api/core/v1's generated.proto. A field given twice
// merges as in the generated code: the last value of a field, every
// entry of a list.
func decodePod(data []byte) (*slimPod, error) {
	var b object.PodBuilder
	end := false
	err := fields(data, func(f field) error {
		switch f.num {
		case 1:
			if f.typ != bytesField {
				return wrongType("Pod.metadata", f)
			}
			return decodeObjectMeta(f.val, &b, &end)
		case 3:
			if f.typ != bytesField {
				return wrongType("Pod.status", f)
			}
			return decodePodStatus(f.val, &b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pod: %w", err)
	}
	out := &slimPod{namespace: b.Namespace, name: b.Name, resourceVersion: b.ResourceVersion, initialEventsEnd: end}
	out.pod, out.err = b.Pod()
	return out, nil
}

// decodeObjectMeta reads the ObjectMeta fields FromPod reads, and the
// initial events' end annotation.
func decodeObjectMeta(data []byte, b *object.PodBuilder, end *bool) error {
	return fields(data, func(f field) error {
		if f.num != 1 && f.num != 3 && f.num != 6 && f.num != 8 && f.num != 12 && f.num != 17 {
			return nil
		}
		if f.typ != bytesField {
			return wrongType("ObjectMeta", f)
		}
		switch f.num {
		case 1:
			b.Name = string(f.val)
		case 3:
			b.Namespace = string(f.val)
		case 6:
			b.ResourceVersion = string(f.val)
		case 8:
			t, err := decodeTime(f.val)
			if err != nil {
				return err
			}
			b.Created(t)
		case 12:
			key, value, err := annotation(data, f.off, f.off+len(f.val))
			if err != nil {
				return err
			}
			if string(key) == metav1.InitialEventsAnnotationKey {
				*end = string(value) == "true"
			}
		case 17: // a managedFields entry: its time is field 4, the last one
			var t time.Time
			has := false
			err := fields(f.val, func(f field) error {
				if f.num != 4 {
					return nil
				}
				if f.typ != bytesField {
					return wrongType("ManagedFieldsEntry.time", f)
				}
				var err error
				t, err = decodeTime(f.val)
				has = true
				return err
			})
			if err != nil {
				return err
			}
			if has {
				b.Managed(t)
			}
		}
		return nil
	})
}

// annotation reads the map entry of an annotation at meta[start:end], in
// its ObjectMeta, as the generated code does: a field 1 or 2 is the key or
// the value whatever its wire type says, and may end past its entry,
// within the ObjectMeta.
func annotation(meta []byte, start, end int) (key, value []byte, err error) {
	for i := start; i < end; {
		at := i
		tag, next, err := varint(meta, i)
		if err != nil {
			return nil, nil, err
		}
		i = next
		switch num := int32(tag >> 3); num {
		case 1, 2:
			from, to, err := lengthDelimited(meta, i)
			if err != nil {
				return nil, nil, err
			}
			if num == 1 {
				key = meta[from:to]
			} else {
				value = meta[from:to]
			}
			i = to
		default:
			if i, err = skipField(meta, at, end); err != nil {
				return nil, nil, err
			}
		}
	}
	return key, value, nil
}

// decodePodStatus reads status.phase (1), podIP (6) and podIPs (12, each
// a PodIP whose ip is field 1).
func decodePodStatus(data []byte, b *object.PodBuilder) error {
	return fields(data, func(f field) error {
		if f.num != 1 && f.num != 6 && f.num != 12 {
			return nil
		}
		if f.typ != bytesField {
			return wrongType("PodStatus", f)
		}
		switch f.num {
		case 1:
			b.Phase(corev1.PodPhase(f.val))
		case 6:
			b.PodIP(string(f.val))
		case 12:
			var ip []byte
			err := fields(f.val, func(f field) error {
				if f.num != 1 {
					return nil
				}
				if f.typ != bytesField {
					return wrongType("PodIP.ip", f)
				}
				ip = f.val
				return nil
			})
			if err != nil {
				return err
			}
			b.AddPodIP(string(ip))
		}
		return nil
	})
}

// decodeTime reads a metav1.Time as its Unmarshal does: none for no
// bytes, else a Timestamp's seconds (field 1); its nanoseconds are never
// read.
func decodeTime(data []byte) (time.Time, error) {
	if len(data) == 0 {
		return time.Time{}, nil
	}
	var seconds int64
	err := fields(data, func(f field) error {
		if f.num != 1 && f.num != 2 {
			return nil
		}
		if f.typ != varintField {
			return wrongType("Timestamp", f)
		}
		if f.num == 1 {
			seconds = int64(f.varint)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(seconds, 0), nil
}

// The protobuf wire types read here.
const (
	varintField  = 0
	fixed64Field = 1
	bytesField   = 2
	startGroup   = 3
	endGroup     = 4
	fixed32Field = 5
)

// field is one field of a message: its number and wire type, and its
// value, as bytes (aliasing the message, at off in it) or as a varint.
type field struct {
	num    int32
	typ    int
	val    []byte
	off    int
	varint uint64
}

var (
	errVarintOverflow = errors.New("varint overflows 64 bits")
	errInvalidLength  = errors.New("negative length")
)

func wrongType(what string, f field) error {
	return fmt.Errorf("%s: field %d of wire type %d", what, f.num, f.typ)
}

// fields calls each with the fields of a message, in order, until it
// returns an error; the other wire types' fields are skipped.
func fields(data []byte, each func(field) error) error {
	for i := 0; i < len(data); {
		start := i
		tag, next, err := varint(data, i)
		if err != nil {
			return err
		}
		i = next
		f := field{num: int32(tag >> 3), typ: int(tag & 7)}
		if f.typ == endGroup {
			return errors.New("end of a group that never started")
		}
		if f.num <= 0 {
			return fmt.Errorf("illegal tag %d", f.num)
		}
		switch f.typ {
		case varintField:
			if f.varint, i, err = varint(data, i); err != nil {
				return err
			}
		case bytesField:
			from, to, err := lengthDelimited(data, i)
			if err != nil {
				return err
			}
			f.val, f.off, i = data[from:to], from, to
		default:
			if i, err = skipField(data, start, len(data)); err != nil {
				return err
			}
		}
		if err := each(f); err != nil {
			return err
		}
	}
	return nil
}

// lengthDelimited reads the length at data[i:] of a length-delimited
// value, and returns where the value is in data: [from, to).
func lengthDelimited(data []byte, i int) (from, to int, err error) {
	n, from, err := varint(data, i)
	if err != nil {
		return 0, 0, err
	}
	to = from + int(n)
	if int(n) < 0 || to < 0 {
		return 0, 0, errInvalidLength
	}
	if to > len(data) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return from, to, nil
}

// skipField returns the index after the field (of a wire type other
// than varint and bytes) that starts at data[at:] and must end by limit.
func skipField(data []byte, at, limit int) (int, error) {
	n, err := skip(data[at:])
	if err != nil {
		return 0, err
	}
	if i := at + n; i >= at && i <= limit {
		return i, nil
	}
	return 0, io.ErrUnexpectedEOF
}

// varint reads the varint at data[i:] and returns the index after it.
func varint(data []byte, i int) (uint64, int, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errVarintOverflow
		}
		if i >= len(data) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		b := data[i]
		i++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, i, nil
		}
	}
}

// skip returns the length of the field that starts data, a group's
// whole, as the generated code's skipGenerated: the caller checks that it
// does not pass data's end.
func skip(data []byte) (int, error) {
	depth := 0
	for i := 0; i < len(data); {
		tag, next, err := varint(data, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch tag & 7 {
		case varintField:
			if _, i, err = varint(data, i); err != nil {
				return 0, err
			}
		case fixed64Field:
			i += 8
		case bytesField:
			n, next, err := varint(data, i)
			if err != nil {
				return 0, err
			}
			if int(n) < 0 {
				return 0, errInvalidLength
			}
			i = next + int(n)
		case startGroup:
			depth++
		case endGroup:
			if depth == 0 {
				return 0, errors.New("end of a group that never started")
			}
			depth--
		case fixed32Field:
			i += 4
		default:
			return 0, fmt.Errorf("illegal wire type %d", tag&7)
		}
		if i < 0 {
			return 0, errInvalidLength
		}
		if depth == 0 {
			return i, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}
