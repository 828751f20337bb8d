package oci

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is a parsed Dockerfile (BuildKit's own parser), read the way
// docker build reads it for the parts that make an image's config.
type Dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
	syntax   string // the # syntax= directive's frontend image, if any
}

// ParseDockerfile parses a Dockerfile's text.
func ParseDockerfile(text []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("dockerfile: no FROM")
	}
	syntax, _, _, _ := parser.DetectSyntax(text)
	return &Dockerfile{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken, syntax: syntax}, nil
}

// Copy is a COPY or ADD instruction of a stage, variables expanded.
type Copy struct {
	From    string // --from stage or image; empty for the build context
	Sources []string
	Dest    string
	Chmod   string
}

// Stage is what one stage of a Dockerfile does, variables expanded with
// the build arguments given: its base, the config it ends with, its copies
// and its RUN commands (shell form as one string, exec form as words).
type Stage struct {
	Name   string
	Base   string // the FROM reference (or stage name)
	Config v1.Config
	Copies []Copy
	Runs   [][]string
	// Env is what the stage's own ENV instructions set (KEY=VALUE).
	Env []string
}

// FinalStage is the last stage: the image docker build makes. base is the
// config of the image its FROM names; args are --build-arg values.
func (d *Dockerfile) FinalStage(base v1.Config, args map[string]string) (Stage, error) {
	return d.stage(len(d.stages)-1, base, args)
}

// Stage is the stage named name (FROM … AS name) on the base config given.
func (d *Dockerfile) Stage(name string, base v1.Config, args map[string]string) (Stage, error) {
	for i, s := range d.stages {
		if s.Name == name {
			return d.stage(i, base, args)
		}
	}
	return Stage{}, fmt.Errorf("dockerfile: no stage %q", name)
}

// Images lists the images a build of the Dockerfile pulls: the BuildKit
// frontend its syntax directive names and every FROM that is not an
// earlier stage, build arguments applied.
func (d *Dockerfile) Images(args map[string]string) ([]string, error) {
	var refs []string
	if d.syntax != "" {
		refs = append(refs, d.syntax)
	}
	meta, err := d.metaDefaults(args)
	if err != nil {
		return nil, err
	}
	lex := shell.NewLex(d.escape)
	stages := map[string]bool{}
	for _, st := range d.stages {
		from, _, err := lex.ProcessWord(st.BaseName, &vars{args: meta})
		if err != nil {
			return nil, err
		}
		if !stages[from] && from != "scratch" && !slices.Contains(refs, from) {
			refs = append(refs, from)
		}
		if st.Name != "" {
			stages[st.Name] = true
		}
	}
	return refs, nil
}

// vars is the variables an instruction may expand, in docker build's
// order of precedence: the stage's ENV over its ARGs.
type vars struct {
	args map[string]string
	env  []string // KEY=VALUE, the config's Env
}

func (v *vars) Get(key string) (string, bool) {
	for _, kv := range slices.Backward(v.env) {
		if k, val, _ := strings.Cut(kv, "="); k == key {
			return val, true
		}
	}
	val, ok := v.args[key]
	return val, ok
}

func (v *vars) Keys() []string {
	keys := slices.Collect(maps.Keys(v.args))
	for _, kv := range v.env {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	return keys
}

// metaDefaults are the ARGs before the first FROM with build arguments
// applied: what FROM lines and a stage's value-less ARGs see.
func (d *Dockerfile) metaDefaults(args map[string]string) (map[string]string, error) {
	lex := shell.NewLex(d.escape)
	out := map[string]string{}
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			if v, ok := args[kv.Key]; ok {
				out[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, &vars{args: out})
			if err != nil {
				return nil, err
			}
			out[kv.Key] = v
		}
	}
	return out, nil
}

// stage applies stage i's instructions to base the way docker build
// (BuildKit's dispatcher) changes an image's config.
func (d *Dockerfile) stage(i int, base v1.Config, args map[string]string) (Stage, error) {
	st := d.stages[i]
	meta, err := d.metaDefaults(args)
	if err != nil {
		return Stage{}, err
	}
	lex := shell.NewLex(d.escape)
	from, _, err := lex.ProcessWord(st.BaseName, &vars{args: meta})
	if err != nil {
		return Stage{}, fmt.Errorf("dockerfile: FROM %s: %w", st.BaseName, err)
	}
	out := Stage{Name: st.Name, Base: from, Config: *base.DeepCopy()}
	cfg := &out.Config
	// docker build gives every stage a PATH (scratch has none).
	if _, ok := envMap(cfg.Env)["PATH"]; !ok {
		cfg.Env = append(cfg.Env, defaultPath)
	}
	v := &vars{args: map[string]string{}, env: cfg.Env}
	expand := func(word string) (string, error) {
		s, _, err := lex.ProcessWord(word, v)
		return s, err
	}
	shellCmd := []string{"/bin/sh", "-c"}
	cmdSet := false
	for _, c := range st.Commands {
		if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := e.Expand(expand); err != nil {
				return Stage{}, fmt.Errorf("dockerfile: %v: %w", c, err)
			}
		}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				val, given := args[kv.Key]
				switch {
				case given:
				case kv.Value != nil:
					val = *kv.Value
				default:
					val = meta[kv.Key]
				}
				v.args[kv.Key] = val
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
				out.Env = setEnv(out.Env, kv.Key, kv.Value)
			}
			v.env = cfg.Env
		case *instructions.LabelCommand:
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range c.Labels {
				cfg.Labels[kv.Key] = kv.Value
			}
		case *instructions.UserCommand:
			cfg.User = c.User
		case *instructions.WorkdirCommand:
			if path.IsAbs(c.Path) {
				cfg.WorkingDir = path.Clean(c.Path)
			} else {
				cfg.WorkingDir = path.Join("/", cfg.WorkingDir, c.Path)
			}
		case *instructions.ExposeCommand:
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range c.Ports {
				words, err := lex.ProcessWords(p, v)
				if err != nil {
					return Stage{}, err
				}
				for _, w := range words {
					if !strings.Contains(w, "/") {
						w += "/tcp"
					}
					cfg.ExposedPorts[strings.ToLower(w)] = struct{}{}
				}
			}
		case *instructions.ShellCommand:
			shellCmd = c.Shell
			cfg.Shell = slices.Clone(c.Shell)
		case *instructions.CmdCommand:
			cfg.Cmd = commandLine(c.ShellDependantCmdLine, shellCmd)
			cmdSet = true
		case *instructions.EntrypointCommand:
			cfg.Entrypoint = commandLine(c.ShellDependantCmdLine, shellCmd)
			// An ENTRYPOINT drops the CMD the base image had.
			if !cmdSet {
				cfg.Cmd = nil
			}
		case *instructions.HealthCheckCommand:
			h := c.Health
			cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
				StartPeriod: h.StartPeriod, Retries: h.Retries}
		case *instructions.StopSignalCommand:
			cfg.StopSignal = c.Signal
		case *instructions.VolumeCommand:
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, vol := range c.Volumes {
				cfg.Volumes[vol] = struct{}{}
			}
		case *instructions.CopyCommand:
			out.Copies = append(out.Copies, Copy{From: c.From, Sources: c.SourcePaths, Dest: c.DestPath, Chmod: c.Chmod})
		case *instructions.AddCommand:
			out.Copies = append(out.Copies, Copy{Sources: c.SourcePaths, Dest: c.DestPath, Chmod: c.Chmod})
		case *instructions.RunCommand:
			run, err := runWords(lex, c.ShellDependantCmdLine, v)
			if err != nil {
				return Stage{}, err
			}
			out.Runs = append(out.Runs, run)
		default:
			// MAINTAINER, ONBUILD: nothing the app images use; refusing them
			// keeps a comparison from missing what they would change.
			return Stage{}, fmt.Errorf("dockerfile: %v is not supported here", c)
		}
	}
	return out, nil
}

// setEnv sets key in a KEY=VALUE list, in place when it is there.
func setEnv(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env = slices.Clone(env)
			env[i] = key + "=" + val
			return env
		}
	}
	return append(slices.Clone(env), key+"="+val)
}

// commandLine is CMD's or ENTRYPOINT's value: the exec form as written, the
// shell form run by the stage's SHELL.
func commandLine(c instructions.ShellDependantCmdLine, shellCmd []string) []string {
	if c.PrependShell {
		return append(slices.Clone(shellCmd), strings.Join(c.CmdLine, " "))
	}
	return slices.Clone(c.CmdLine)
}

// runWords is a RUN command as the words a shell would pass (shell form,
// variables expanded) or the exec form as written.
func runWords(lex *shell.Lex, c instructions.ShellDependantCmdLine, v *vars) ([]string, error) {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine), nil
	}
	return lex.ProcessWords(strings.Join(c.CmdLine, " "), v)
}
