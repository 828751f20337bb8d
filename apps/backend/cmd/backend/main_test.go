package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run the service itself (see TestMain), so
// a test can start the real process and signal it.
const runMainEnv = "BACKEND_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(run(nil))
	}
	os.Exit(m.Run())
}

// TestNoAccessLineLostOnSIGTERM runs the service as a process, loads it with
// concurrent keep-alive clients, sends SIGTERM in the middle of the load and
// checks that every request a client got an answer for (before, during and
// after the drain) has its access line on stdout once the process has
// exited. From SIGTERM until the load has ended the test stops reading
// stdout, like a log collector that stalls: requests must still be answered
// (the log never blocks them), and the lines queued meanwhile must all come
// out before the process exits.
func TestNoAccessLineLostOnSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "LISTEN_ADDR="+addr, "LOG_LEVEL=debug",
		"DRAIN_DELAY=400ms", "SHUTDOWN_TIMEOUT=10s", "OTEL_TRACES_EXPORTER=none")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var out bytes.Buffer
	readDone := make(chan error, 1)
	var paused sync.Mutex // held while the reader must not read
	go func() {
		buf := make([]byte, 32<<10)
		for {
			paused.Lock()
			paused.Unlock() //nolint:staticcheck // an empty critical section: wait while paused
			n, err := stdout.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				readDone <- err
				return
			}
		}
	}()

	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var (
		mu        sync.Mutex
		answered  = map[string]bool{} // request IDs of complete answers
		afterTerm atomic.Int64
		termSent  atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	paths := []string{"/api/info", "/version", "/healthz", "/nope", "/api/stats"}
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; !stop.Load(); i++ {
				resp, err := client.Get(base + paths[(w+i)%len(paths)])
				if err != nil {
					if termSent.Load() {
						return // the listener is closed: the load ends
					}
					time.Sleep(time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				id := resp.Header.Get("X-Request-ID")
				mu.Lock()
				answered[id] = true
				mu.Unlock()
				if termSent.Load() {
					afterTerm.Add(1)
				}
			}
		}()
	}

	time.Sleep(500 * time.Millisecond)
	paused.Lock() // stdout stalls from here
	termSent.Store(true)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()
	select {
	case <-loadDone: // every client got "connection refused": the listener is closed
	case <-time.After(30 * time.Second):
		t.Fatal("the listener did not close within 30 s of SIGTERM")
	}
	time.Sleep(200 * time.Millisecond) // the process is done serving and waits to write its lines
	paused.Unlock()
	exited := make(chan error, 1)
	go func() {
		if err := <-readDone; err != nil {
			t.Errorf("reading stdout: %v", err)
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	stop.Store(true)

	logged := map[string]bool{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %q", lines, sc.Text())
		}
		if m["msg"] == "log lines lost" {
			t.Errorf("the service reported lost lines: %s", sc.Text())
		}
		if id, ok := m["request_id"].(string); ok && m["msg"] == "request" {
			logged[id] = true
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(answered) < 200 {
		t.Fatalf("only %d answers: not a load test", len(answered))
	}
	if afterTerm.Load() == 0 {
		t.Fatal("no answer after SIGTERM: the drain window was not exercised")
	}
	missing := 0
	for id := range answered {
		if !logged[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d answered requests have no access line (%d lines on stdout)", missing, len(answered), lines)
	}
	t.Logf("%d answers (%d after SIGTERM), %d access lines, %d lines in all", len(answered), afterTerm.Load(), len(logged), lines)
}
