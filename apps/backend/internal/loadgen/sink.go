package loadgen

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Sink is a minimal OTLP/HTTP receiver: it accepts POST /v1/traces, reads
// and discards the payload and answers an empty ExportTraceServiceResponse
// (an empty protobuf message is zero bytes).
type Sink struct {
	Addr     string
	Requests atomic.Int64
	Bytes    atomic.Int64
	srv      *http.Server
}

// StartSink listens on a loopback port.
func StartSink() (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{Addr: ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		s.Requests.Add(1)
		s.Bytes.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }
