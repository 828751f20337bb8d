package hcloudemu

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

const (
	tokA   = "token-project-a"
	tokARO = "token-project-a-readonly"
	tokB   = "token-project-b"
)

type env struct {
	t     testing.TB
	emu   *Emulator
	srv   *httptest.Server
	admin *httptest.Server
	c     *hcloud.Client
}

type envOpt func(*Config)

func withSpeed(s float64) envOpt   { return func(c *Config) { c.Speed = s } }
func withStateDir(d string) envOpt { return func(c *Config) { c.StateDir = d } }
func withHook(h PowerHook) envOpt  { return func(c *Config) { c.Hook = h } }

func newEnv(t *testing.T, opts ...envOpt) *env { return newEnvTB(t, opts...) }

func newEnvTB(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	cfg := Config{Speed: 1000, Tokens: []Token{
		{Project: "a", Token: tokA}, {Project: "a", Token: tokARO, ReadOnly: true}, {Project: "b", Token: tokB},
	}, Logf: t.Logf}
	for _, o := range opts {
		o(&cfg)
	}
	emu, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, emu: emu, srv: httptest.NewServer(emu.Handler()), admin: httptest.NewServer(emu.AdminHandler())}
	e.c = e.client(tokA)
	t.Cleanup(func() {
		e.srv.Close()
		e.admin.Close()
		emu.Close()
	})
	return e
}

func (e *env) client(token string, extra ...hcloud.ClientOption) *hcloud.Client {
	opts := []hcloud.ClientOption{hcloud.WithEndpoint(e.srv.URL + "/v1"), hcloud.WithToken(token),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond)}),
		hcloud.WithRetryOpts(hcloud.RetryOpts{BackoffFunc: hcloud.ConstantBackoff(10 * time.Millisecond), MaxRetries: 3})}
	return hcloud.NewClient(append(opts, extra...)...)
}

// raw does an HTTP request against the API and decodes the JSON answer.
func (e *env) raw(method, path, token string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewBuffer(data)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			e.t.Fatalf("%s %s: non-JSON answer %q", method, path, data)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (e *env) adminDo(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewBuffer(data)
	}
	req, _ := http.NewRequest(method, e.admin.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func errCode(body map[string]any) string {
	if body == nil {
		return ""
	}
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func must[T any](t *testing.T) func(v T, _ *hcloud.Response, err error) T {
	return func(v T, _ *hcloud.Response, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantCode(t *testing.T, err error, code hcloud.ErrorCode) {
	t.Helper()
	if !hcloud.IsError(err, code) {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func (e *env) wait(actions ...*hcloud.Action) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.c.Action.WaitFor(ctx, actions...); err != nil {
		e.t.Fatal(err)
	}
}

// testKey returns a valid ed25519 public key line and its MD5 fingerprint
// computed independently of the emulator.
func testKey(seed byte) (string, []byte) {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)).Public().(ed25519.PublicKey)
	var blob bytes.Buffer
	for _, part := range [][]byte{[]byte("ssh-ed25519"), pub} {
		_ = binary.Write(&blob, binary.BigEndian, uint32(len(part)))
		blob.Write(part)
	}
	return "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob.Bytes()) + fmt.Sprintf(" key%d", seed), blob.Bytes()
}

// createServer creates a started server and waits for its actions.
func (e *env) createServer(opts hcloud.ServerCreateOpts) *hcloud.Server {
	e.t.Helper()
	if opts.ServerType == nil {
		opts.ServerType = &hcloud.ServerType{Name: "cx22"}
	}
	if opts.Image == nil {
		opts.Image = &hcloud.Image{Name: "debian-12"}
	}
	res, _, err := e.c.Server.Create(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.wait(append([]*hcloud.Action{res.Action}, res.NextActions...)...)
	s, _, err := e.c.Server.GetByID(context.Background(), res.Server.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}
