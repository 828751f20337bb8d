package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sre-platform/platform/test/sandbox"
)

// status prints whether the sandbox runs, its endpoints and clusters, and
// what its cluster runs; false when it does not run.
func (s *sandboxEnv) status() bool {
	pid, ok := livePID(s.pidFile(), s.serviceExe())
	if !ok {
		if exists(s.pidFile()) {
			s.say("sandbox: stale pid file %s (process gone)", s.pidFile())
		}
		s.say("sandbox: not running")
		if exists(s.stateDir()) {
			s.say("  state kept in %s", s.stateDir())
		}
		return false
	}
	s.say("sandbox: running (pid %d)", pid)
	s.say("  Hetzner API: http://%s/v1 (token in %s)", s.listen, s.tokenFile())
	s.say("  admin:       http://%s/admin", s.adminListen)
	s.say("  log:         %s", s.logFile())
	hasKubeconfig := exists(s.kubeconfig())
	if hasKubeconfig {
		s.say("  kubeconfig:  %s", s.kubeconfig())
	}
	s.say("  clusters:")
	if err := printClusters(s.out, "http://"+s.adminListen); err != nil {
		s.say("    (admin API not answering)")
	}
	if hasKubeconfig {
		s.say("")
		if err := clusterStatus(s.kubeconfig()); err != nil {
			fmt.Fprintf(s.errOut, "sandbox-up: %v\n", err)
			s.say("  (cluster not answering)")
		}
	}
	return true
}

// printClusters writes one line per cluster the service's admin API at base
// lists (GET /sandbox/clusters).
func printClusters(w io.Writer, base string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sandbox/clusters", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /sandbox/clusters: %s", resp.Status)
	}
	var body struct {
		Clusters []sandbox.ClusterStatus `json:"clusters"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("GET /sandbox/clusters: %v", err)
	}
	for _, c := range body.Clusters {
		endpoint := c.Endpoint
		if endpoint == "" {
			endpoint = "-"
		}
		fmt.Fprintf(w, "    %s (project %s) endpoint %s, servers %s, nodes %s, RSS apiserver %d MiB + etcd %d MiB\n",
			c.ID, c.Project, endpoint, strings.Join(c.Servers, ","), strings.Join(c.Nodes, ", "), c.APIServerMB, c.EtcdMB)
	}
	return nil
}
