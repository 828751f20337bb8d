package config

import (
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != ":8080" || c.ChaosEnabled || c.UIColor != "#34577c" || c.DrainDelay != 5*time.Second ||
		c.ShutdownTimeout != 15*time.Second || c.LogLevel != slog.LevelInfo || len(c.CORSOrigins) != 0 || c.Environment != "local" {
		t.Errorf("defaults = %+v", c)
	}
	// The documented defaults are the real ones.
	var fromDocs Config
	for _, s := range settings(&fromDocs) {
		if s.Default != "" {
			if err := s.value.Set(s.Default); err != nil {
				t.Fatalf("--%s: documented default %q: %v", s.Flag, s.Default, err)
			}
		}
	}
	if !reflect.DeepEqual(fromDocs, Defaults()) {
		t.Errorf("documented defaults %+v differ from Defaults() %+v", fromDocs, Defaults())
	}
}

func TestEnvAndFlags(t *testing.T) {
	e := env(map[string]string{
		"PORT": "9090", "ENVIRONMENT": "staging", "CHAOS_ENABLED": "true", "UI_MESSAGE": "hello",
		"UI_COLOR": "#fff", "CORS_ORIGIN": "https://a.example.com, http://localhost:5173/", "DRAIN_DELAY": "2s",
		"SHUTDOWN_TIMEOUT": "30s", "LOG_LEVEL": "debug", "MAX_BODY_BYTES": "1024",
	})
	c, err := Load(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != ":9090" || c.Environment != "staging" || !c.ChaosEnabled || c.UIMessage != "hello" || c.UIColor != "#fff" ||
		strings.Join(c.CORSOrigins, " ") != "https://a.example.com http://localhost:5173" || c.DrainDelay != 2*time.Second ||
		c.ShutdownTimeout != 30*time.Second || c.LogLevel != slog.LevelDebug || c.MaxBodyBytes != 1024 {
		t.Errorf("from env = %+v", c)
	}
	// Flags win over the environment.
	c, err = Load([]string{"--port", "7070", "--chaos-enabled=false", "--environment", "production", "--listen", "127.0.0.1:6060"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr() != "127.0.0.1:6060" || c.ChaosEnabled || c.Environment != "production" || c.Port != 7070 {
		t.Errorf("flags = %+v", c)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	_, err := Load(nil, env(map[string]string{
		"PORT": "abc", "DRAIN_DELAY": "5", "CHAOS_ENABLED": "yes please", "LOG_LEVEL": "loud",
	}), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`PORT="abc": not an integer`, "DRAIN_DELAY", "CHAOS_ENABLED", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	cases := map[string][]string{
		"UI_COLOR":         {"--ui-color", "red"},
		"CORS_ORIGIN":      {"--cors-origin", "*"},
		"PORT":             {"--port", "70000"},
		"LISTEN_ADDR":      {"--listen", "localhost"},
		"ENVIRONMENT":      {"--environment", "Prod Env"},
		"SHUTDOWN_TIMEOUT": {"--shutdown-timeout", "0s"},
		"MAX_BODY_BYTES":   {"--max-body-bytes", "0"},
		"WRITE_TIMEOUT":    {"--write-timeout", "-1s"},
		"DRAIN_DELAY":      {"--drain-delay", "-1s"},
	}
	for envName, args := range cases {
		_, err := Load(args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), envName) || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v does not name %s and %s", args, err, args[0], envName)
		}
	}
	if _, err := Load([]string{"--nope"}, env(nil), io.Discard); err == nil {
		t.Error("unknown flag accepted")
	}
	if _, err := Load([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
	for _, o := range []string{"https://a.example.com/path", "ftp://x", "https://user@x.example.com", "https://"} {
		if checkOrigin(o) == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}
