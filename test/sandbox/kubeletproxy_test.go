package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// TestClusterEgressConnect: the apiserver's egress proxy answers CONNECT
// with 200 and then relays bytes both ways, refuses other methods with 405,
// and reports a destination it cannot dial as 502 with the reason.
func TestClusterEgressConnect(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	cp := &ControlPlane{Dir: t.TempDir(), ClusterCIDR: "10.42.0.0/16", ServiceCIDR: "10.43.0.0/16"}
	var dialled []string
	e, err := startClusterEgress(egressSocket(cp.Dir), func(ctx context.Context, addr string) (net.Conn, error) {
		dialled = append(dialled, addr)
		return cp.dialCluster(ctx, addr)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()

	connect := func(method, addr string) (*http.Response, net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("unix", egressSocket(cp.Dir))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", method, addr)
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res, c, br
	}
	res, c, br := connect("CONNECT", echo.Addr().String())
	if res.StatusCode != 200 {
		t.Fatalf("CONNECT: %s", res.Status)
	}
	fmt.Fprint(c, "ping\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("relay: %q, %v", line, err)
	}
	c.Close()

	res, c, _ = connect("GET", "/")
	c.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %s, want 405", res.Status)
	}

	// A port nothing listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	res, c, br = connect("CONNECT", closed)
	body, _ := io.ReadAll(br)
	c.Close()
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "refused") {
		t.Errorf("CONNECT to a closed port: %s %q, want 502 with the reason", res.Status, body)
	}
	if len(dialled) != 2 || dialled[0] != echo.Addr().String() || dialled[1] != closed {
		t.Errorf("dialled %v", dialled)
	}
}

// TestControlPlaneNetnsFor: a node's address leaves from its namespace, pod
// and service addresses from the node with the lowest address, anything
// else (and everything while no node runs) from the host's.
func TestControlPlaneNetnsFor(t *testing.T) {
	cp := &ControlPlane{Dir: t.TempDir(), ClusterCIDR: "10.42.0.0/16", ServiceCIDR: "10.43.0.0/16"}
	cp.nodes.cidrs = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16"), netip.MustParsePrefix("10.43.0.0/16")}
	at := func(s string) string { return cp.netnsFor(netip.MustParseAddr(s)) }
	if got := at("10.43.0.1"); got != "" {
		t.Errorf("no node yet: service address from %q, want the host", got)
	}
	for ip, ns := range map[string]string{"10.77.0.3": "/run/netns/b", "10.77.0.2": "/run/netns/a"} {
		if err := cp.SetNodeNetns(ip, ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := cp.SetNodeNetns("not-an-ip", "/x"); err == nil {
		t.Error("a bad address was accepted")
	}
	for addr, want := range map[string]string{"10.77.0.3": "/run/netns/b", "10.77.0.2": "/run/netns/a",
		"10.42.1.7": "/run/netns/a", "10.43.0.10": "/run/netns/a", "127.0.0.1": "", "10.77.0.9": ""} {
		if got := at(addr); got != want {
			t.Errorf("%s: from %q, want %q", addr, got, want)
		}
	}
	cp.RemoveNodeNetns("10.77.0.2", "/run/netns/other") // a restarted node's stale entry: kept
	if got := at("10.77.0.2"); got != "/run/netns/a" {
		t.Errorf("removing with another namespace dropped the entry (%q)", got)
	}
	cp.RemoveNodeNetns("10.77.0.2", "/run/netns/a")
	if got, want := at("10.42.0.5"), "/run/netns/b"; got != want {
		t.Errorf("after removal: %q, want %q", got, want)
	}
}

// checkLogsExec: `kubectl logs` (the pod log REST API) and `kubectl exec`
// (remotecommand over WebSocket, kubectl's default, and over SPDY) reach the
// kubelet of the node a pod runs on, through the apiserver's egress proxy.
func checkLogsExec(ctx context.Context, t *testing.T, cfg *rest.Config, kc kubernetes.Interface, ns, selector string) {
	t.Helper()
	pods, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods %s: %v (%d)", selector, err, len(pods.Items))
	}
	pod := pods.Items[0]
	container := pod.Spec.Containers[0].Name
	logs, err := kc.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of %s on %s: %v", pod.Name, pod.Spec.NodeName, err)
	}
	if !strings.Contains(string(logs), `"msg":"listening"`) {
		t.Errorf("logs of %s: no startup line in %q", pod.Name, logs)
	}
	execIn := func(how string, cmd ...string) (string, error) {
		req := kc.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod.Name).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}, scheme.ParameterCodec)
		var ex remotecommand.Executor
		var err error
		if how == "websocket" {
			ex, err = remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
		} else {
			ex, err = remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
		}
		if err != nil {
			return "", err
		}
		var out, errOut bytes.Buffer
		err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errOut})
		return out.String() + errOut.String(), err
	}
	for _, how := range []string{"websocket", "spdy"} {
		out, err := execIn(how, "/backend", "version")
		if err != nil || !strings.HasPrefix(out, "backend ") {
			t.Errorf("exec (%s) /backend version in %s on %s: %q, %v", how, pod.Name, pod.Spec.NodeName, out, err)
		}
		// A failing command's exit status comes back.
		_, err = execIn(how, "/backend", "healthcheck", "-url", "http://127.0.0.1:1/healthz", "-timeout", "1s")
		var ee exec.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() == 0 {
			t.Errorf("exec (%s) of a failing command: %v, want its non-zero exit status", how, err)
		}
	}
}
