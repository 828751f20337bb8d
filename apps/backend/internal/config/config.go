// Package config reads the backend's configuration from flags and
// environment variables into one struct and validates it. Flags win over the
// environment, the environment wins over defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MaxHeaderBytes bounds the request header (http.Server.MaxHeaderBytes).
const MaxHeaderBytes = 64 << 10

// Config is the whole configuration of the backend.
type Config struct {
	Listen            string        // address to listen on, e.g. ":8080"
	Port              int           // used when Listen is empty
	Environment       string        // environment name shown by /api/info
	ChaosEnabled      bool          // serve /chaos/* (404 otherwise)
	UIMessage         string        // message shown by the dashboard
	UIColor           string        // dashboard colour, #rgb or #rrggbb
	CORSOrigins       []string      // origins allowed by CORS (none by default)
	DrainDelay        time.Duration // unready -> close listener on SIGTERM
	ShutdownTimeout   time.Duration // time in-flight requests get to finish
	LogLevel          slog.Level    // debug, info, warn, error
	MaxBodyBytes      int64         // largest accepted request body
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// Addr is the address the server listens on.
func (c Config) Addr() string {
	if c.Listen != "" {
		return c.Listen
	}
	return ":" + strconv.Itoa(c.Port)
}

// Option describes one setting: its flag, its environment variable and its
// default, for the usage text and the documentation.
type Option struct {
	Flag, Env, Default, Usage string
}

type setting struct {
	Option
	value flag.Value
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		Listen:            "",
		Port:              8080,
		Environment:       "local",
		UIMessage:         "Hello from the backend",
		UIColor:           "#34577c",
		DrainDelay:        5 * time.Second,
		ShutdownTimeout:   15 * time.Second,
		LogLevel:          slog.LevelInfo,
		MaxBodyBytes:      64 << 10,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

func settings(c *Config) []setting {
	return []setting{
		{Option{"listen", "LISTEN_ADDR", "", "listen address host:port (wins over --port)"}, (*stringValue)(&c.Listen)},
		{Option{"port", "PORT", "8080", "listen port, used when no listen address is set"}, (*intValue)(&c.Port)},
		{Option{"environment", "ENVIRONMENT", "local", "environment name shown by /api/info"}, (*stringValue)(&c.Environment)},
		{Option{"chaos-enabled", "CHAOS_ENABLED", "false", "serve the /chaos/* endpoints"}, (*boolValue)(&c.ChaosEnabled)},
		{Option{"ui-message", "UI_MESSAGE", "Hello from the backend", "message shown by the dashboard"}, (*stringValue)(&c.UIMessage)},
		{Option{"ui-color", "UI_COLOR", "#34577c", "dashboard colour (#rgb or #rrggbb)"}, (*stringValue)(&c.UIColor)},
		{Option{"cors-origin", "CORS_ORIGIN", "", "comma-separated origins allowed by CORS (scheme://host[:port])"}, (*listValue)(&c.CORSOrigins)},
		{Option{"drain-delay", "DRAIN_DELAY", "5s", "on SIGTERM: time between reporting unready and closing the listener"}, (*durationValue)(&c.DrainDelay)},
		{Option{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "15s", "on SIGTERM: time in-flight requests get to finish"}, (*durationValue)(&c.ShutdownTimeout)},
		{Option{"log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error"}, (*levelValue)(&c.LogLevel)},
		{Option{"max-body-bytes", "MAX_BODY_BYTES", "65536", "largest accepted request body in bytes"}, (*int64Value)(&c.MaxBodyBytes)},
		{Option{"read-header-timeout", "READ_HEADER_TIMEOUT", "5s", "server read-header timeout"}, (*durationValue)(&c.ReadHeaderTimeout)},
		{Option{"read-timeout", "READ_TIMEOUT", "15s", "server read timeout"}, (*durationValue)(&c.ReadTimeout)},
		{Option{"write-timeout", "WRITE_TIMEOUT", "60s", "server write timeout (keep above the longest chaos delay + fault latency, 40s)"}, (*durationValue)(&c.WriteTimeout)},
		{Option{"idle-timeout", "IDLE_TIMEOUT", "120s", "keep-alive idle timeout"}, (*durationValue)(&c.IdleTimeout)},
	}
}

// Options lists every setting (for documentation and tests).
func Options() []Option {
	var c Config
	var out []Option
	for _, s := range settings(&c) {
		out = append(out, s.Option)
	}
	return out
}

// Load builds the configuration from args (without the program name) and the
// environment (looked up through getenv), then validates it. All problems are
// reported together.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	c := Defaults()
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(usage)
	var errs []error
	for _, s := range settings(&c) {
		if v := getenv(s.Env); v != "" {
			if err := s.value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.Env, v, err))
			}
		}
		fs.Var(s.value, s.Flag, fmt.Sprintf("%s (env %s)", s.Usage, s.Env))
	}
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	if len(errs) == 0 {
		errs = append(errs, c.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

var (
	colorRE = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	envRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
)

// Validate checks every field and reports all problems together, naming the
// flag and environment variable to fix.
func (c Config) Validate() error {
	var errs []error
	bad := func(flagName, env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s / %s: %s", flagName, env, fmt.Sprintf(format, a...)))
	}
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil {
			bad("listen", "LISTEN_ADDR", "%q is not host:port (%v)", c.Listen, err)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("listen", "LISTEN_ADDR", "%q has an invalid port", c.Listen)
		}
	} else if c.Port < 1 || c.Port > 65535 {
		bad("port", "PORT", "%d is outside 1..65535", c.Port)
	}
	if !envRE.MatchString(c.Environment) {
		bad("environment", "ENVIRONMENT", "%q must be lower-case letters, digits and dashes (1-63 characters)", c.Environment)
	}
	if len(c.UIMessage) > 256 {
		bad("ui-message", "UI_MESSAGE", "longer than 256 bytes")
	}
	if !colorRE.MatchString(c.UIColor) {
		bad("ui-color", "UI_COLOR", "%q is not a colour like #34577c or #fff", c.UIColor)
	}
	for _, o := range c.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			bad("cors-origin", "CORS_ORIGIN", "%q: %v", o, err)
		}
	}
	positive := func(flagName, env string, d time.Duration) {
		if d <= 0 {
			bad(flagName, env, "%s must be positive", d)
		}
	}
	if c.DrainDelay < 0 || c.DrainDelay > 5*time.Minute {
		bad("drain-delay", "DRAIN_DELAY", "%s is outside 0..5m", c.DrainDelay)
	}
	if c.ShutdownTimeout <= 0 || c.ShutdownTimeout > 10*time.Minute {
		bad("shutdown-timeout", "SHUTDOWN_TIMEOUT", "%s is outside (0, 10m]", c.ShutdownTimeout)
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > 64<<20 {
		bad("max-body-bytes", "MAX_BODY_BYTES", "%d is outside 1..67108864", c.MaxBodyBytes)
	}
	positive("read-header-timeout", "READ_HEADER_TIMEOUT", c.ReadHeaderTimeout)
	positive("read-timeout", "READ_TIMEOUT", c.ReadTimeout)
	positive("write-timeout", "WRITE_TIMEOUT", c.WriteTimeout)
	positive("idle-timeout", "IDLE_TIMEOUT", c.IdleTimeout)
	return errors.Join(errs...)
}

func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be scheme://host[:port] only (no \"*\", path, query or credentials)")
	}
	return nil
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not an integer")
	}
	*v = intValue(n)
	return nil
}

type int64Value int64

func (v *int64Value) String() string { return strconv.FormatInt(int64(*v), 10) }
func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = int64Value(n)
	return nil
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a boolean (true/false)")
	}
	*v = boolValue(b)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("not a duration like 5s or 1m30s")
	}
	*v = durationValue(d)
	return nil
}

type levelValue slog.Level

func (v *levelValue) String() string { return slog.Level(*v).String() }
func (v *levelValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		*v = levelValue(slog.LevelDebug)
	case "info":
		*v = levelValue(slog.LevelInfo)
	case "warn", "warning":
		*v = levelValue(slog.LevelWarn)
	case "error":
		*v = levelValue(slog.LevelError)
	default:
		return errors.New("must be debug, info, warn or error")
	}
	return nil
}

type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	*v = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*v = append(*v, strings.TrimSuffix(p, "/"))
		}
	}
	return nil
}
