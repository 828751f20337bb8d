package oci

import (
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// appDockerfile reads apps/<name>/Dockerfile of this checkout.
func appDockerfile(t *testing.T, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "apps", name, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The apps' Dockerfiles build the images the Go assembly builds: same base,
// config field by field, files at the same paths with the same modes, and
// the backend compiled with the same flags.
func TestDockerfilesMatchGoImages(t *testing.T) {
	for _, a := range AppImages {
		t.Run(a.Name, func(t *testing.T) {
			for _, v := range [][2]string{{"dev", "unknown"}, {"1.4.2", "0123abc"}} {
				drift, err := a.Drift(appDockerfile(t, a.Name), v[0], v[1])
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range drift {
					t.Errorf("VERSION=%s COMMIT=%s: %s", v[0], v[1], d)
				}
			}
		})
	}
}

// Every kind of drift between a Dockerfile and the Go assembly is caught:
// each case edits the real Dockerfile's text and names the field it expects
// in the report.
func TestDockerfileDriftDetected(t *testing.T) {
	cases := []struct {
		app, old, new, want string
	}{
		{"backend", "USER 65532:65532", "USER 65532", "User:"},
		{"backend", "EXPOSE 8080", "EXPOSE 8080 9090", "ExposedPorts:"},
		{"backend", `ENTRYPOINT ["/backend"]`, `ENTRYPOINT ["/backend", "serve"]`, "Entrypoint:"},
		{"backend", `ENTRYPOINT ["/backend"]`, "ENTRYPOINT [\"/backend\"]\nCMD [\"serve\"]", "Cmd:"},
		{"backend", "--interval=10s", "--interval=15s", "Healthcheck:"},
		{"backend", `org.opencontainers.image.title="backend"`, `org.opencontainers.image.title="api"`, "Label org.opencontainers.image.title:"},
		{"backend", "COPY --from=build /out/backend /backend", "COPY --from=build /out/backend /usr/local/bin/backend", "COPY /out/backend: Dockerfile to /usr/local/bin/backend"},
		{"backend", "go build -trimpath -tags nomsgpack", "go build -trimpath -tags nomsgpack,netgo", "build flags:"},
		{"backend", "-X github.com/sre-platform/platform/apps/backend/internal/buildinfo.Commit=${COMMIT}", "", "build flags:"},
		{"backend", "-o /out/backend ./cmd/backend", "-o /out/backend ./cmd/server", "build package:"},
		{"backend", "FROM gcr.io/distroless/static-debian12:nonroot", "FROM gcr.io/distroless/static-debian12:debug-nonroot", "FROM:"},
		{"backend", "GOWORK=off", "GOWORK=auto", "build ENV:"},
		{"backend", "USER 65532:65532", "USER 65532:65532\nWORKDIR /app", "WorkingDir:"},
		{"backend", "USER 65532:65532", "USER 65532:65532\nENV GIN_MODE=release", "Env GIN_MODE:"},
		{"frontend", "LISTEN_PORT=8080", "LISTEN_PORT=8088", "Env LISTEN_PORT:"},
		{"frontend", "--chmod=0755 docker/entrypoint.sh", "--chmod=0775 docker/entrypoint.sh", "COPY docker/entrypoint.sh: Dockerfile --chmod"},
		{"frontend", "STOPSIGNAL SIGQUIT", "STOPSIGNAL SIGTERM", "StopSignal:"},
		{"frontend", `ENTRYPOINT ["/usr/local/bin/frontend-entrypoint"]`, "", "Entrypoint:"},
		{"frontend", "USER 101", "USER nginx", "User:"},
		{"frontend", "nginx-unprivileged:1.28-alpine", "nginx-unprivileged:1.29-alpine", "FROM:"},
		{"frontend", "COPY --chmod=0644 nginx.conf.template /etc/nginx/platform/nginx.conf.template", "", "COPY nginx.conf.template: the Go image has"},
		{"frontend", "USER 101", "COPY extra.conf /etc/nginx/extra.conf\nUSER 101", "COPY extra.conf /etc/nginx/extra.conf: the Go image has no such file"},
		{"frontend", "--timeout=3s", "--timeout=5s", "Healthcheck:"},
		{"frontend", "COPY --from=build /src/dist /usr/share/nginx/html", "COPY --from=build /src/dist /srv/www", "COPY /src/dist: Dockerfile to /srv/www"},
	}
	apps := map[string]AppImage{}
	for _, a := range AppImages {
		apps[a.Name] = a
	}
	for _, c := range cases {
		t.Run(c.app+" "+c.want, func(t *testing.T) {
			text := string(appDockerfile(t, c.app))
			if !strings.Contains(text, c.old) {
				t.Fatalf("the Dockerfile no longer has %q: update the case", c.old)
			}
			drift, err := apps[c.app].Drift([]byte(strings.Replace(text, c.old, c.new, 1)), "1.4.2", "0123abc")
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range drift {
				if strings.Contains(d, c.want) {
					t.Logf("reported: %s", d)
					return
				}
			}
			t.Errorf("no drift naming %q; reported %q", c.want, drift)
		})
	}
}

// FinalStage changes a base config the way docker build does.
func TestFinalStageSemantics(t *testing.T) {
	base := v1.Config{Env: []string{"PATH=/bin", "UID=7"}, Entrypoint: []string{"/init"}, Cmd: []string{"serve"},
		ExposedPorts: Ports("80/tcp"), WorkingDir: "/srv", User: "0"}
	cases := []struct {
		name, text string
		args       map[string]string
		check      func(t *testing.T, s Stage)
	}{
		{"ENTRYPOINT drops the base's CMD", "FROM b\nENTRYPOINT [\"/app\"]\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "Entrypoint", s.Config.Entrypoint, "/app")
			wantSlice(t, "Cmd", s.Config.Cmd)
		}},
		{"a CMD of the stage stays", "FROM b\nCMD [\"x\"]\nENTRYPOINT [\"/app\"]\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "Cmd", s.Config.Cmd, "x")
		}},
		{"CMD alone keeps the base's ENTRYPOINT", "FROM b\nCMD [\"x\"]\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "Entrypoint", s.Config.Entrypoint, "/init")
		}},
		{"shell form runs through SHELL", "FROM b\nSHELL [\"/bin/bash\", \"-ec\"]\nCMD echo $HOME\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "Cmd", s.Config.Cmd, "/bin/bash", "-ec", "echo $HOME")
		}},
		{"ARG default, build argument, meta ARG in FROM and in the stage",
			"ARG TAG=1\nARG REG\nFROM reg/img:${TAG}\nARG TAG\nARG V=dev\nLABEL v=$V t=$TAG\n",
			map[string]string{"V": "2.0"}, func(t *testing.T, s Stage) {
				wantEq(t, "Base", s.Base, "reg/img:1")
				wantEq(t, "label v", s.Config.Labels["v"], "2.0")
				wantEq(t, "label t", s.Config.Labels["t"], "1")
			}},
		{"ENV expands, sees the base's Env, wins over ARG", "FROM b\nARG UID=9\nENV HOME=/h/$UID P=${PATH}:/x\nUSER $UID\n", nil,
			func(t *testing.T, s Stage) {
				wantEq(t, "HOME", envMap(s.Config.Env)["HOME"], "/h/7")
				wantEq(t, "PATH kept", envMap(s.Config.Env)["PATH"], "/bin")
				wantEq(t, "P", envMap(s.Config.Env)["P"], "/bin:/x")
				wantEq(t, "User", s.Config.User, "7")
			}},
		{"ENV replaces a base variable in place", "FROM b\nENV PATH=/usr/bin\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "Env", s.Config.Env, "PATH=/usr/bin", "UID=7")
		}},
		{"EXPOSE adds to the base's ports, tcp by default", "FROM b\nARG P=53\nEXPOSE 8080 ${P}/udp\n", nil, func(t *testing.T, s Stage) {
			wantSlice(t, "ports", slices.Sorted(maps.Keys(s.Config.ExposedPorts)), "53/udp", "80/tcp", "8080/tcp")
		}},
		{"WORKDIR relative to the current one", "FROM b\nWORKDIR app\nWORKDIR ../data\n", nil, func(t *testing.T, s Stage) {
			wantEq(t, "WorkingDir", s.Config.WorkingDir, "/srv/data")
		}},
		{"COPY and RUN are recorded, expanded", "FROM b\nARG D=/opt\nCOPY --chmod=0600 a.txt $D/a.txt\nRUN echo \"x y\" $D\n", nil,
			func(t *testing.T, s Stage) {
				if len(s.Copies) != 1 || s.Copies[0].Dest != "/opt/a.txt" || s.Copies[0].Chmod != "0600" {
					t.Errorf("copies %+v", s.Copies)
				}
				if len(s.Runs) != 1 {
					t.Fatalf("runs %q", s.Runs)
				}
				wantSlice(t, "RUN", s.Runs[0], "echo", "x y", "/opt")
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDockerfile([]byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			s, err := d.FinalStage(base, c.args)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
	if got := base.Env; len(got) != 2 || got[0] != "PATH=/bin" {
		t.Errorf("the base config was changed: %q", got)
	}
	d, err := ParseDockerfile([]byte("FROM scratch\nENV A=1\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.FinalStage(v1.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSlice(t, "scratch gets docker build's PATH", s.Config.Env, defaultPath, "A=1")
	d, err = ParseDockerfile([]byte("FROM b\nONBUILD RUN x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.FinalStage(base, nil); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("ONBUILD: want a not-supported error, got %v", err)
	}
	if _, err := ParseDockerfile([]byte("RUN x\n")); err == nil {
		t.Error("a Dockerfile without FROM parsed")
	}
}

func wantEq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func wantSlice(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// Images lists what a build pulls: the syntax frontend and every FROM that
// is not a stage of the file.
func TestDockerfileImages(t *testing.T) {
	d, err := ParseDockerfile(appDockerfile(t, "frontend"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err := d.Images(map[string]string{"NODE_IMAGE": "node:22"})
	if err != nil {
		t.Fatal(err)
	}
	wantSlice(t, "images", refs, "docker/dockerfile:1", "node:22", "nginxinc/nginx-unprivileged:1.28-alpine")
	d, err = ParseDockerfile([]byte("FROM a AS one\nFROM one\nFROM scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	refs, err = d.Images(nil)
	if err != nil {
		t.Fatal(err)
	}
	wantSlice(t, "images", refs, "a")
}
