// Package logging writes the backend's JSON log lines: slog records and the
// per-request access lines, both through one asynchronous writer so that a
// request never waits for stdout.
package logging

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultBufferBytes bounds the lines waiting to be written (about 4000
// access lines). Two buffers of this size exist: one filling while the other
// is written.
const DefaultBufferBytes = 1 << 20

// FlushDelay is how long a line may wait in memory before it is written,
// unless flushAt bytes are queued first. Writing in batches is what makes the
// log cheap: one write system call per batch instead of one per line.
const FlushDelay = 50 * time.Millisecond

// flushAt is the queued size that triggers a write without waiting.
const flushAt = 64 << 10

// AsyncWriter queues whole lines in memory and writes them to the underlying
// writer from one goroutine, in order, in batches (at most FlushDelay after a
// line was queued, sooner when 64 KiB are waiting). Write never blocks on the
// underlying writer: when the queue is full (the reader of stdout is not
// keeping up) the line is dropped and counted; Dropped reports the count and
// Close writes a line saying how many were lost. Close writes everything
// queued before it returns, so a clean shutdown loses no line. Writes after
// Close go straight to the underlying writer.
type AsyncWriter struct {
	out   io.Writer
	limit int

	mu      sync.Mutex
	pending []byte // lines waiting for the writer goroutine
	spare   []byte // the buffer the writer goroutine gave back
	closed  bool
	wake    chan struct{} // capacity 1: pending became non-empty, or closed
	urgent  chan struct{} // capacity 1: flushAt bytes queued, or closed
	done    chan struct{} // closed when the writer goroutine has finished

	dropped atomic.Uint64
	errs    atomic.Uint64
}

// NewAsyncWriter starts the writer goroutine. limit is the most bytes queued
// at once (DefaultBufferBytes when ≤ 0).
func NewAsyncWriter(out io.Writer, limit int) *AsyncWriter {
	if limit <= 0 {
		limit = DefaultBufferBytes
	}
	w := &AsyncWriter{
		out:     out,
		limit:   limit,
		pending: make([]byte, 0, 64<<10),
		spare:   make([]byte, 0, 64<<10),
		wake:    make(chan struct{}, 1),
		urgent:  make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go w.loop()
	return w
}

// Write queues p, which must be one or more whole lines. It never blocks on
// the underlying writer and always reports success: a line that does not fit
// is counted in Dropped.
func (w *AsyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	before := len(w.pending)
	if before+len(p) > w.limit {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	if before == 0 {
		signal(w.wake)
	}
	if before < flushAt && before+len(p) >= flushAt {
		signal(w.urgent)
	}
	return len(p), nil
}

// signal leaves a wake-up in ch unless one is already there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (w *AsyncWriter) loop() {
	defer close(w.done)
	var batch []byte
	timer := time.NewTimer(FlushDelay)
	timer.Stop()
	for range w.wake {
		// Let lines gather: until the delay is over, enough is queued, or
		// Close asks for everything now.
		timer.Reset(FlushDelay)
		select {
		case <-timer.C:
		case <-w.urgent:
			timer.Stop()
		}
		for {
			w.mu.Lock()
			batch, w.pending = w.pending, w.spare[:0]
			closed := w.closed
			w.mu.Unlock()
			if len(batch) == 0 {
				w.spare = batch
				if closed {
					return
				}
				break
			}
			if _, err := w.out.Write(batch); err != nil {
				w.errs.Add(1)
			}
			w.mu.Lock()
			w.spare = batch[:0]
			w.mu.Unlock()
		}
	}
}

// Dropped is the number of lines dropped because the queue was full.
func (w *AsyncWriter) Dropped() uint64 { return w.dropped.Load() }

// Close writes every queued line, stops the writer goroutine and, when lines
// were dropped or writes failed, writes one JSON line saying so. It is safe to
// call more than once.
func (w *AsyncWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	// The loop reads closed after every batch, so one pending wake-up (this
	// one or an earlier Write's) is enough for it to drain and return.
	signal(w.wake)
	signal(w.urgent)
	<-w.done
	if d, e := w.dropped.Load(), w.errs.Load(); d > 0 || e > 0 {
		_, err := fmt.Fprintf(w.out, `{"level":"WARN","msg":"log lines lost","dropped_queue_full":%d,"failed_writes":%d}`+"\n", d, e)
		return err
	}
	return nil
}
