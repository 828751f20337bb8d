package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// printClusters against a stand-in admin API answering as the service's
// GET /sandbox/clusters does.
func TestPrintClusters(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
		fails      bool
	}{
		{name: "two clusters", code: 200, body: `{"clusters":[` +
			`{"id":"a1","project":"sandbox","endpoint":"https://127.0.1.1:6443","servers":["cp-1","cp-2"],"live_servers":["cp-1"],` +
			`"nodes":["cp-1 (server, Ready)","w-1 (agent, NotReady)"],"pids":[7,8],"apiserver_rss_mib":301,"etcd_rss_mib":40,"controllers_rss_mib":90},` +
			`{"id":"b2","project":"other","servers":null,"live_servers":null,"nodes":null,"apiserver_rss_mib":0,"etcd_rss_mib":0,"controllers_rss_mib":0}]}`,
			want: "    a1 (project sandbox) endpoint https://127.0.1.1:6443, servers cp-1,cp-2, nodes cp-1 (server, Ready), w-1 (agent, NotReady), RSS apiserver 301 MiB + etcd 40 MiB\n" +
				"    b2 (project other) endpoint -, servers , nodes , RSS apiserver 0 MiB + etcd 0 MiB\n"},
		{name: "none", code: 200, body: `{"clusters":null}`},
		{name: "server error", code: 500, body: `{"error":"x"}`, fails: true},
		{name: "not JSON", code: 200, body: `<html>`, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/sandbox/clusters" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.code)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			var out bytes.Buffer
			err := printClusters(&out, srv.URL)
			if (err != nil) != tc.fails || out.String() != tc.want {
				t.Errorf("printClusters: %v\n%s\nwant (fails %v):\n%s", err, out.String(), tc.fails, tc.want)
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if err := printClusters(&bytes.Buffer{}, srv.URL); err == nil {
		t.Error("closed admin API: no error")
	}
}
