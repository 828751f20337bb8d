package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	if rc := healthcheck(nil, env(map[string]string{"PORT": port})); rc != 0 {
		t.Errorf("healthy via PORT: rc %d", rc)
	}
	if rc := healthcheck(nil, env(map[string]string{"LISTEN_ADDR": "0.0.0.0:" + port})); rc != 0 {
		t.Errorf("healthy via LISTEN_ADDR 0.0.0.0: rc %d", rc)
	}
	if rc := healthcheck([]string{"--url", srv.URL + "/healthz"}, env(nil)); rc != 0 {
		t.Errorf("healthy via --url: rc %d", rc)
	}
	status = http.StatusServiceUnavailable
	if rc := healthcheck(nil, env(map[string]string{"PORT": port})); rc != 1 {
		t.Errorf("unhealthy: rc %d, want 1", rc)
	}
	if rc := healthcheck(nil, env(map[string]string{"PORT": "notaport"})); rc != 2 {
		t.Errorf("bad config: rc %d, want 2", rc)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if rc := healthcheck([]string{"--url", "http://" + closed + "/healthz"}, env(nil)); rc != 1 {
		t.Errorf("nothing listening: rc %d, want 1", rc)
	}
}
