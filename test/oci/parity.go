package oci

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BaseImage is the upstream image an app Dockerfile's final stage starts
// FROM, described by what its config hands down.
type BaseImage struct {
	Ref    string
	Config v1.Config
	// NotCarried are variables of the base's Env the Go image leaves out on
	// purpose (they describe a part of the base it does not use).
	NotCarried []string
}

// GoBuild is how a Dockerfile's build stage compiles an app binary.
type GoBuild struct {
	Stage   string // the stage's name (FROM … AS Stage)
	Package string
	Output  string // -o, the path the final stage copies from
	// Flags are the build flags between `go build` and -o.
	Flags func(version, commit string) []string
	// Env is the stage's ENV (KEY=VALUE), a subset of the Go build's.
	Env []string
}

// AppImage ties an app's Dockerfile (apps/<Name>/Dockerfile, built with
// that folder as context) to the image test/oci assembles in Go.
type AppImage struct {
	Name   string
	Base   BaseImage
	Config func(version, commit string) v1.Config
	// Files are the context files the final stage copies, with the mode its
	// --chmod gives.
	Files []AppFile
	// FromBuild are the final stage's copies from other stages: Src the path
	// there, Dst the path in the image (Mode unused).
	FromBuild []AppFile
	Build     *GoBuild
}

// Published base image configs, as far as the app images inherit them.
var (
	distrolessStaticNonroot = BaseImage{
		Ref: "gcr.io/distroless/static-debian12:nonroot",
		Config: v1.Config{User: "65532", WorkingDir: "/home/nonroot",
			Env: []string{defaultPath, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}},
	}
	nginxUnprivileged = BaseImage{
		Ref: "nginxinc/nginx-unprivileged:1.28-alpine",
		Config: v1.Config{User: "101", Env: []string{defaultPath},
			Entrypoint: []string{"/docker-entrypoint.sh"}, Cmd: []string{"nginx", "-g", "daemon off;"},
			ExposedPorts: Ports("8080/tcp"), StopSignal: "SIGQUIT",
			Labels: map[string]string{"maintainer": "NGINX Docker Maintainers <docker-maint@nginx.com>"}},
		// Versions of alpine's nginx and njs packages: the Go image serves
		// Debian's nginx without njs.
		NotCarried: []string{"NGINX_VERSION", "PKG_RELEASE", "DYNPKG_RELEASE", "NJS_VERSION", "NJS_RELEASE"},
	}
)

// AppImages are the app images whose Dockerfiles must build what the Go
// assembly builds.
var AppImages = []AppImage{
	{
		Name: "backend", Base: distrolessStaticNonroot, Config: BackendConfig,
		FromBuild: []AppFile{{Src: "/out/backend", Dst: BackendBinary}},
		Build: &GoBuild{Stage: "build", Package: BackendPackage, Output: "/out/backend",
			Flags: func(version, commit string) []string {
				return append([]string{"-trimpath"}, BackendBuildFlags(version, commit)...)
			},
			Env: []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false", "GOWORK=off"}},
	},
	{
		Name: "frontend", Base: nginxUnprivileged, Config: FrontendConfig, Files: FrontendFiles,
		FromBuild: []AppFile{{Src: "/src/dist", Dst: FrontendSPADir}},
	},
}

// Drift lists where the image docker build makes from dockerfile (with
// VERSION and COMMIT as build arguments) differs from the Go assembly:
// the final stage's base, its config field by field, the files it copies
// and how the build stage compiles the binary. Empty means none.
func (a AppImage) Drift(dockerfile []byte, version, commit string) ([]string, error) {
	d, err := ParseDockerfile(dockerfile)
	if err != nil {
		return nil, err
	}
	args := map[string]string{"VERSION": version, "COMMIT": commit}
	final, err := d.FinalStage(a.Base.Config, args)
	if err != nil {
		return nil, err
	}
	var drift []string
	if final.Base != a.Base.Ref {
		drift = append(drift, fmt.Sprintf("FROM: Dockerfile %s, Go image built on %s", final.Base, a.Base.Ref))
	}
	drift = append(drift, ConfigDrift(final.Config, a.Config(version, commit), a.Base)...)
	drift = append(drift, a.copyDrift(final.Copies)...)
	if a.Build != nil {
		b, err := a.buildDrift(d, args)
		if err != nil {
			return nil, err
		}
		drift = append(drift, b...)
	}
	return drift, nil
}

// ConfigDrift compares the config docker build gives (want) with the Go
// image's (got) field by field: User, Entrypoint, Cmd, WorkingDir, Shell,
// StopSignal, ExposedPorts, Volumes, Healthcheck, Env and Labels. Env
// variables the base has and the Go image leaves out (base.NotCarried), and
// labels only the base sets, are not drift.
func ConfigDrift(want, got v1.Config, base BaseImage) []string {
	var drift []string
	field := func(name string, w, g any) {
		if !reflect.DeepEqual(w, g) {
			drift = append(drift, fmt.Sprintf("%s: Dockerfile %s, Go image %s", name, show(w), show(g)))
		}
	}
	field("User", want.User, got.User)
	field("Entrypoint", orNil(want.Entrypoint), orNil(got.Entrypoint))
	field("Cmd", orNil(want.Cmd), orNil(got.Cmd))
	field("WorkingDir", want.WorkingDir, got.WorkingDir)
	field("Shell", orNil(want.Shell), orNil(got.Shell))
	field("StopSignal", want.StopSignal, got.StopSignal)
	field("ExposedPorts", slices.Sorted(maps.Keys(want.ExposedPorts)), slices.Sorted(maps.Keys(got.ExposedPorts)))
	field("Volumes", slices.Sorted(maps.Keys(want.Volumes)), slices.Sorted(maps.Keys(got.Volumes)))
	field("Healthcheck", want.Healthcheck, got.Healthcheck)
	wantEnv, gotEnv := envMap(want.Env), envMap(got.Env)
	for _, k := range slices.Sorted(maps.Keys(union(wantEnv, gotEnv))) {
		w, inWant := wantEnv[k]
		g, inGot := gotEnv[k]
		if !inGot && slices.Contains(base.NotCarried, k) {
			continue
		}
		field("Env "+k, present(w, inWant), present(g, inGot))
	}
	for _, k := range slices.Sorted(maps.Keys(union(want.Labels, got.Labels))) {
		w, inWant := want.Labels[k]
		g, inGot := got.Labels[k]
		if inWant && !inGot && base.Config.Labels[k] == w {
			continue // the base's label, not carried
		}
		field("Label "+k, present(w, inWant), present(g, inGot))
	}
	return drift
}

// copyDrift compares the final stage's COPY/ADD instructions with the files
// the Go image has.
func (a AppImage) copyDrift(copies []Copy) []string {
	var drift []string
	files := map[string]AppFile{}
	for _, f := range a.Files {
		files[f.Src] = f
	}
	fromBuild := map[string]AppFile{}
	for _, f := range a.FromBuild {
		fromBuild[f.Src] = f
	}
	for _, c := range copies {
		if len(c.Sources) != 1 {
			drift = append(drift, fmt.Sprintf("COPY %s %s: one source per COPY is what the Go image maps", strings.Join(c.Sources, " "), c.Dest))
			continue
		}
		src := c.Sources[0]
		want := files
		if c.From != "" {
			want = fromBuild
		}
		f, ok := want[src]
		if !ok {
			drift = append(drift, fmt.Sprintf("COPY %s %s: the Go image has no such file", src, c.Dest))
			continue
		}
		delete(want, src)
		if f.Dst != c.Dest {
			drift = append(drift, fmt.Sprintf("COPY %s: Dockerfile to %s, Go image at %s", src, c.Dest, f.Dst))
		}
		if c.From != "" {
			continue
		}
		mode, err := strconv.ParseInt(c.Chmod, 8, 32)
		if c.Chmod == "" || err != nil || mode != f.Mode {
			drift = append(drift, fmt.Sprintf("COPY %s: Dockerfile --chmod=%q, Go image mode %04o", src, c.Chmod, f.Mode))
		}
	}
	for _, m := range []map[string]AppFile{files, fromBuild} {
		for _, src := range slices.Sorted(maps.Keys(m)) {
			drift = append(drift, fmt.Sprintf("COPY %s: the Go image has %s, the Dockerfile does not copy it", src, m[src].Dst))
		}
	}
	return drift
}

// buildDrift compares the build stage's ENV and `go build` with the Go
// build of the binary.
func (a AppImage) buildDrift(d *Dockerfile, args map[string]string) ([]string, error) {
	b := a.Build
	st, err := d.Stage(b.Stage, v1.Config{}, args)
	if err != nil {
		return nil, err
	}
	var drift []string
	if got, want := slices.Sorted(slices.Values(st.Env)), slices.Sorted(slices.Values(b.Env)); !slices.Equal(got, want) {
		drift = append(drift, fmt.Sprintf("build ENV: Dockerfile %s, Go build %s", show(got), show(want)))
	}
	var build []string
	for _, run := range st.Runs {
		if i := slices.Index(run, "go"); i >= 0 && i+1 < len(run) && run[i+1] == "build" {
			build = run[i+2:]
		}
	}
	if build == nil {
		return append(drift, fmt.Sprintf("build: stage %s runs no go build", b.Stage)), nil
	}
	o := slices.Index(build, "-o")
	if o < 0 || o+2 != len(build)-1 {
		return append(drift, fmt.Sprintf("build: want `go build FLAGS -o OUT PACKAGE`, Dockerfile has %s", show(build))), nil
	}
	flags, out, pkg := build[:o], build[o+1], build[len(build)-1]
	version, commit := args["VERSION"], args["COMMIT"]
	if want := b.Flags(version, commit); !slices.Equal(flags, want) {
		drift = append(drift, fmt.Sprintf("build flags: Dockerfile %s, Go build %s", show(flags), show(want)))
	}
	if out != b.Output {
		drift = append(drift, fmt.Sprintf("build output: Dockerfile -o %s, the Go image copies %s", out, b.Output))
	}
	if pkg != b.Package {
		drift = append(drift, fmt.Sprintf("build package: Dockerfile %s, Go build %s", pkg, b.Package))
	}
	return drift, nil
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func union(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}

// present is v, or nil when the key is absent (shown as null).
func present(v string, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

func orNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
