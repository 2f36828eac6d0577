// Command events follows shopmesh's order events in NATS JetStream and
// prints each one as a JSON line, decoded with the Go code generated into
// gen/go.
//
//	go run . [--nats URL] [--deliver new|all] [--subject SUBJECT] [--count N] [--timeout DURATION]
//
// The orders service publishes OrderConfirmed, OrderFailed and
// OrderCancelled (protos/shopmesh/order/v1/events.proto) on the subject
// named like the message, e.g. shopmesh.order.v1.OrderConfirmed, in the
// stream SHOPMESH_ORDER_V1, which the service creates. Each message is a
// CloudEvent in the NATS binding's binary mode: its attributes are headers
// (ce-id, ce-type, ce-subject, ce-time, ...; traceparent when the change was
// traced) and the body is the serialized protobuf message.
//
// This reads the stream through an ordered consumer: ephemeral, in the
// server's memory, deleted on exit (and by the server 30 s after a crash),
// so it leaves no durable state and changes no stream. --nats defaults to
// $SHOPMESH_NATS_URL, else nats://127.0.0.1:4222; --deliver new (the
// default) starts with the next event, all with the oldest the stream still
// holds; --subject narrows to one event type (default shopmesh.order.v1.>).
//
// Each event becomes one line on stdout:
//
//	{"ce_id":"...","ce_type":"shopmesh.order.v1.OrderConfirmed","ce_source":"//orders.shopmesh.dev","ce_subject":"orders/...","ce_time":"...","traceparent":"...","order":{...}}
//
// with the Order in protojson; traceparent is "" when absent. A message of
// an unknown ce-type, with a body that does not decode, or not a CloudEvent
// at all is reported on stderr and skipped; so is a second copy of a ce-id
// already printed (a republished event). Once the consumer exists, a line
// "listening on ..." goes to stderr: what is published after it is seen.
//
// With --count N it exits 0 after N events; --timeout makes it exit non-zero
// when fewer than N (with --count 0: none) arrived in that time. Without
// either it runs until interrupted. It exits non-zero when the broker cannot
// be reached or the stream does not exist.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	orderv1 "shopmesh.dev/gen/go/shopmesh/order/v1"
)

const (
	stream  = "SHOPMESH_ORDER_V1"  // the orders service's stream: one per proto package
	subject = "shopmesh.order.v1." // + the event's message name
)

// orderEvent is what the order events have in common: the order they are about.
type orderEvent interface {
	proto.Message
	GetOrder() *orderv1.Order
}

// eventTypes maps a ce-type (a message's full name) to a new message of that type.
var eventTypes = map[string]func() orderEvent{}

func init() {
	for _, m := range []orderEvent{&orderv1.OrderConfirmed{}, &orderv1.OrderFailed{}, &orderv1.OrderCancelled{}} {
		eventTypes[string(proto.MessageName(m))] = func() orderEvent {
			return m.ProtoReflect().New().Interface().(orderEvent)
		}
	}
}

// line is what is printed for one event.
type line struct {
	ID          string          `json:"ce_id"`
	Type        string          `json:"ce_type"`
	Source      string          `json:"ce_source"`
	Subject     string          `json:"ce_subject"`
	Time        string          `json:"ce_time"`
	Traceparent string          `json:"traceparent"`
	Order       json.RawMessage `json:"order"`
}

type options struct {
	url     string
	deliver jetstream.DeliverPolicy
	subject string
	count   int
	timeout time.Duration
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "events failed:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	url := os.Getenv("SHOPMESH_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	o := options{}
	fs.StringVar(&o.url, "nats", url, "the NATS server (default $SHOPMESH_NATS_URL, else nats://127.0.0.1:4222)")
	deliver := fs.String("deliver", "new", "new: from the next event on; all: from the oldest the stream holds")
	fs.StringVar(&o.subject, "subject", subject+">", "the events to follow, e.g. "+subject+"OrderConfirmed")
	fs.IntVar(&o.count, "count", 0, "exit 0 after this many events (0: run until interrupted)")
	fs.DurationVar(&o.timeout, "timeout", 0, "exit non-zero if the events wanted have not arrived by then (0: wait for ever)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch *deliver {
	case "new":
		o.deliver = jetstream.DeliverNewPolicy
	case "all":
		o.deliver = jetstream.DeliverAllPolicy
	default:
		return o, fmt.Errorf("--deliver %q: want new or all", *deliver)
	}
	if !strings.HasPrefix(o.subject, subject) {
		return o, fmt.Errorf("--subject %q is not in the stream %s (%s>)", o.subject, stream, subject)
	}
	if o.count < 0 || o.timeout < 0 {
		return o, errors.New("--count and --timeout cannot be negative")
	}
	if o.url == "off" || o.url == "none" {
		return o, errors.New("SHOPMESH_NATS_URL is off: there is no broker to read events from")
	}
	return o, nil
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}

	nc, err := nats.Connect(o.url,
		nats.Name("shopmesh-go-events"),
		// Once connected, ride out a broker restart: the ordered consumer resumes after the last event seen.
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: this side closed the connection
				fmt.Fprintf(os.Stderr, "lost the broker (%v), reconnecting\n", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { fmt.Fprintln(os.Stderr, "reconnected to the broker") }),
	)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", o.url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	consumer, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{o.subject},
		DeliverPolicy:     o.deliver,
		InactiveThreshold: 30 * time.Second, // a crashed reader's consumer goes soon
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("no stream %s on %s: the orders service creates it when it starts", stream, o.url)
	}
	if err != nil {
		return fmt.Errorf("creating a consumer on %s: %w", stream, err)
	}
	msgs, err := consumer.Messages()
	if err != nil {
		return fmt.Errorf("consuming %s: %w", stream, err)
	}
	// Stopping the iterator ends a Next that waits, even one that is re-creating the consumer.
	context.AfterFunc(ctx, msgs.Stop)
	defer func() {
		msgs.Stop()
		// The server would drop it after InactiveThreshold; deleting it now leaves nothing behind.
		if info := consumer.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = js.DeleteConsumer(dctx, stream, info.Name)
		}
	}()
	fmt.Fprintf(os.Stderr, "listening on %s in %s (deliver %s)\n", o.subject, stream, o.deliver)

	out := json.NewEncoder(os.Stdout)
	seen := newRecent(4096)
	printed := 0
	for o.count == 0 || printed < o.count {
		msg, err := msgs.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return ended(ctx, o, printed)
			}
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		event, err := decode(msg)
		if err == nil && !seen.add(event.ID) {
			err = errors.New("a copy of an event already printed")
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipped %s: %v\n", describe(msg), err)
			continue
		}
		if err := out.Encode(event); err != nil {
			return err
		}
		printed++
	}
	return nil
}

// ended says whether stopping early (on the timeout or a signal) after `printed` events is a failure.
func ended(ctx context.Context, o options, printed int) error {
	if !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		if o.count > 0 {
			return fmt.Errorf("interrupted after %d of %d events", printed, o.count)
		}
		return nil // a reader that runs for ever is stopped this way
	}
	if o.count > 0 {
		return fmt.Errorf("timed out after %s: %d of %d events arrived", o.timeout, printed, o.count)
	}
	if printed == 0 {
		return fmt.Errorf("timed out after %s: no event arrived", o.timeout)
	}
	return nil
}

// decode reads a message's CloudEvents headers and decodes its body by its ce-type.
func decode(msg jetstream.Msg) (*line, error) {
	h := msg.Headers()
	if v := header(h, "ce-specversion"); v != "1.0" {
		return nil, fmt.Errorf("not a CloudEvent 1.0 (ce-specversion %q)", v)
	}
	if v := header(h, "content-type"); v != "" && v != "application/protobuf" {
		return nil, fmt.Errorf("content-type %q, want application/protobuf", v)
	}
	l := &line{
		ID:          header(h, "ce-id"),
		Type:        header(h, "ce-type"),
		Source:      header(h, "ce-source"),
		Subject:     header(h, "ce-subject"),
		Time:        header(h, "ce-time"),
		Traceparent: header(h, "traceparent"),
	}
	if l.ID == "" {
		return nil, errors.New("no ce-id")
	}
	if _, err := time.Parse(time.RFC3339, l.Time); err != nil {
		return nil, fmt.Errorf("ce-time %q is not an RFC 3339 time", l.Time)
	}
	newEvent, ok := eventTypes[l.Type]
	if !ok {
		return nil, fmt.Errorf("unknown ce-type %q", l.Type)
	}
	event := newEvent()
	if err := proto.Unmarshal(msg.Data(), event); err != nil {
		return nil, fmt.Errorf("body is not a %s: %w", l.Type, err)
	}
	order, err := protojson.Marshal(event.GetOrder())
	if err != nil {
		return nil, err
	}
	l.Order = order
	return l, nil
}

// header returns the first value of a header; NATS header names are case-sensitive, so
// another spelling of `key` is looked for when the exact one is absent.
func header(h nats.Header, key string) string {
	if v := h.Get(key); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// describe names a message in a line on stderr: its ce-id, ce-type and place in the stream.
func describe(msg jetstream.Msg) string {
	h := msg.Headers()
	where := msg.Subject()
	if meta, err := msg.Metadata(); err == nil {
		where = fmt.Sprintf("%s seq %d", where, meta.Sequence.Stream)
	}
	return fmt.Sprintf("event ce-id=%q ce-type=%q (%s)", header(h, "ce-id"), header(h, "ce-type"), where)
}

// recent remembers the last ids it was given, to drop a republished event: the orders
// service may publish one twice (its outbox relay retries), with the same ce-id.
type recent struct {
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecent(size int) *recent {
	return &recent{ids: make(map[string]struct{}, size), ring: make([]string, size)}
}

// add records id and reports whether it is new.
func (r *recent) add(id string) bool {
	if _, ok := r.ids[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.ids, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.ids[id] = struct{}{}
	return true
}
