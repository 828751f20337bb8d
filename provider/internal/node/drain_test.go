package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sre-platform/platform/provider/internal/k3s"
	"github.com/sre-platform/platform/provider/internal/kube"
)

var quiet = log.New(io.Discard, "", 0)

var fastPoll = kube.Poller{Interval: 5 * time.Millisecond, Max: 20 * time.Millisecond}

// apiStatus answers like the Kubernetes API with a failure Status.
func apiStatus(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"message":"injected %d","code":%d}`, reason, code, code)
}

// healthyAPI cordons, lists no pods on the node, and deletes it. fail, when
// it returns true, has answered the request instead.
func healthyAPI(fail func(w http.ResponseWriter, r *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail != nil && fail(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPatch && r.URL.Path == "/api/v1/nodes/n1":
			fmt.Fprint(w, `{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1"},"spec":{"unschedulable":true}}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
			fmt.Fprint(w, `{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}`)
		case r.Method == http.MethodDelete && r.URL.Path == "/api/v1/nodes/n1":
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Success","code":200}`)
		default:
			apiStatus(w, http.StatusNotFound, "NotFound")
		}
	})
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// client talks to srv trusting caPEM, with cfg adjusted by mod.
func client(t *testing.T, host string, caPEM []byte, mod func(*rest.Config)) kubernetes.Interface {
	t.Helper()
	cfg := &rest.Config{Host: host, BearerToken: "t", TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
	if mod != nil {
		mod(cfg)
	}
	c, err := kube.FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func summaries(d diag.Diagnostics) (errs, warns string) {
	for _, x := range d {
		s := x.Summary() + ": " + x.Detail() + "\n"
		if x.Severity() == diag.SeverityError {
			errs += s
		} else {
			warns += s
		}
	}
	return errs, warns
}

// Before a server is deleted, only a cluster that cannot be connected to
// lets the delete go on undrained (a warning). One that answers with a TLS,
// authentication or authorization failure fails the delete with a message
// that names the class, and the server is kept. 429, 5xx and 409 answers are
// retried.
func TestDrainBeforeDeleteByErrorClass(t *testing.T) {
	ok := httptest.NewUnstartedServer(healthyAPI(nil))
	ok.Config.ErrorLog = quiet // the handshakes this test fails on purpose
	ok.StartTLS()
	defer ok.Close()
	okCA := certPEM(ok.Certificate())

	closed := httptest.NewTLSServer(healthyAPI(nil))
	closedURL, closedCA := closed.URL, certPEM(closed.Certificate())
	closed.Close()

	// Accepts TCP connections and never says a word.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	// Demands a client certificate from its own CA; the client presents
	// another cluster's admin certificate.
	mtls := httptest.NewUnstartedServer(healthyAPI(nil))
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool()}
	mtls.Config.ErrorLog = quiet
	mtls.StartTLS()
	defer mtls.Close()
	other, err := k3s.GeneratePKI(k3s.PKIOptions{ClusterName: "other", CAValidity: 24 * time.Hour, AdminValidity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	answering := func(code int, reason string, times int32) (*httptest.Server, *atomic.Int32) {
		var n atomic.Int32
		srv := httptest.NewTLSServer(healthyAPI(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodPatch && (n.Add(1) <= times || times < 0) {
				apiStatus(w, code, reason)
				return true
			}
			return false
		}))
		t.Cleanup(srv.Close)
		return srv, &n
	}

	for _, tc := range []struct {
		name      string
		client    func() kubernetes.Interface
		ctx       time.Duration // bounds the whole call (the cordon waits up to 30 s otherwise)
		wantErr   string        // "" = no error
		wantWarn  string
		wantCalls int32
		calls     *atomic.Int32
	}{
		{name: "healthy", client: func() kubernetes.Interface { return client(t, ok.URL, okCA, nil) }},
		{name: "connection refused", client: func() kubernetes.Interface { return client(t, closedURL, closedCA, nil) },
			wantWarn: "cannot be reached"},
		{name: "DNS name not found", client: func() kubernetes.Interface {
			return client(t, "https://api.gone.example:6443", okCA, func(c *rest.Config) {
				c.Dial = func(_ context.Context, _, addr string) (net.Conn, error) {
					return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.gone.example", IsNotFound: true}}
				}
			})
		}, wantWarn: "no such host"},
		{name: "timeout", ctx: 300 * time.Millisecond, client: func() kubernetes.Interface {
			return client(t, "https://"+silent.Addr().String(), okCA, nil)
		}, wantWarn: "cannot be reached"},
		{name: "TLS: unknown certificate authority", client: func() kubernetes.Interface {
			return client(t, ok.URL, []byte(other.ServerCA.CertPEM), nil)
		},
			wantErr: "TLS handshake failed"},
		{name: "TLS: client certificate refused", client: func() kubernetes.Interface {
			return client(t, mtls.URL, certPEM(mtls.Certificate()), func(c *rest.Config) {
				c.BearerToken = ""
				c.CertData, c.KeyData = []byte(other.Admin.CertPEM), []byte(other.Admin.KeyPEM)
			})
		}, wantErr: "TLS handshake failed"},
	} {
		t.Run(tc.name, func(t *testing.T) { runDrain(t, tc.client(), tc.ctx, tc.wantErr, tc.wantWarn) })
	}

	for _, tc := range []struct {
		code          int
		reason, want  string
		times, wantOK int32
	}{
		{401, "Unauthorized", "rejected the credentials (401 Unauthorized)", -1, 0},
		{403, "Forbidden", "not allowed to do this (403 Forbidden)", -1, 0},
		{429, "TooManyRequests", "", 2, 3},
		{500, "InternalError", "", 2, 3},
		{503, "ServiceUnavailable", "", 2, 3},
		{409, "Conflict", "", 2, 3},
		{500, "InternalError", "injected 500", -1, 0}, // never recovers within the bound
	} {
		name := fmt.Sprintf("%d %s", tc.code, map[bool]string{true: "until the bound", false: fmt.Sprintf("x%d", tc.times)}[tc.times < 0])
		t.Run(name, func(t *testing.T) {
			srv, calls := answering(tc.code, tc.reason, tc.times)
			ctx := time.Duration(0)
			if tc.times < 0 {
				// Long enough for the first answer on a loaded machine (the
				// error must be the server's, not the deadline's); fastPoll
				// retries many times within it.
				ctx = 3 * time.Second
			}
			runDrain(t, client(t, srv.URL, certPEM(srv.Certificate()), nil), ctx, tc.want, "")
			if tc.code == 401 || tc.code == 403 {
				if calls.Load() != 1 {
					t.Errorf("%d cordon attempts, want 1 (not retried)", calls.Load())
				}
			}
			if tc.wantOK > 0 && calls.Load() != tc.wantOK {
				t.Errorf("%d cordon attempts, want %d", calls.Load(), tc.wantOK)
			}
		})
	}
}

func runDrain(t *testing.T, c kubernetes.Interface, bound time.Duration, wantErr, wantWarn string) {
	t.Helper()
	ctx := context.Background()
	if bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	errs, warns := summaries(drainWith(ctx, c, "n1", "5s", fastPoll))
	switch {
	case wantErr == "" && errs != "":
		t.Errorf("unexpected error: %s", errs)
	case wantErr != "" && (!strings.Contains(errs, wantErr) || !strings.Contains(errs, "The server is kept")):
		t.Errorf("error %q, want one containing %q that keeps the server", errs, wantErr)
	case wantErr != "" && strings.Contains(warns, "Skipping"):
		t.Errorf("an answering cluster was skipped as unreachable: %s", warns)
	}
	if wantWarn != "" && (!strings.Contains(warns, "Skipping the drain") || !strings.Contains(warns, wantWarn)) {
		t.Errorf("warnings %q, want the drain skipped because %q", warns, wantWarn)
	}
	if wantWarn == "" && warns != "" {
		t.Errorf("unexpected warning: %s", warns)
	}
}
