//go:build imagetest

package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sre-platform/platform/test/testenv"
)

// TestDockerBuildMatchesGoImages builds apps/backend and apps/frontend with
// `docker build` (the folder as context) and compares what docker made with
// the Go assembly: the config field by field (base-image variables and
// labels the Go image leaves out on purpose aside), the files at their paths
// and modes, and docker's config against what the hermetic check predicts
// from the same base. It needs a Docker engine that can pull the
// Dockerfiles' images (gated docker-build otherwise).
func TestDockerBuildMatchesGoImages(t *testing.T) {
	env, err := dockerEnv()
	testenv.Gate(t, err == nil, "docker-build", fmt.Sprintf("docker build of the app folders needs a Docker engine: %v", err))
	_, err = docker(t, env, time.Minute, "buildx", "version")
	testenv.Gate(t, err == nil, "docker-build", "the app Dockerfiles use BuildKit (RUN --mount, COPY --chmod), which the docker CLI runs through its buildx plugin: `docker buildx version` fails (install docker-buildx)")
	const version, commit = "1.4.2", "0123abc"
	args := map[string]string{"VERSION": version, "COMMIT": commit}
	for _, a := range AppImages {
		t.Run(a.Name, func(t *testing.T) {
			dir := filepath.Join(testenv.RepoRoot(), "apps", a.Name)
			text, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDockerfile(text)
			if err != nil {
				t.Fatal(err)
			}
			images, err := d.Images(args)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range images {
				if _, err := docker(t, env, 10*time.Minute, "image", "inspect", ref); err == nil {
					continue
				}
				_, err := docker(t, env, 10*time.Minute, "pull", ref)
				testenv.Gate(t, err == nil, "docker-build", fmt.Sprintf("docker build of apps/%s needs %s, which the engine cannot pull: %v", a.Name, ref, err))
			}
			tag := fmt.Sprintf("platform-parity-%s:%d", a.Name, time.Now().UnixNano())
			if _, err := docker(t, env, 30*time.Minute, "build", "--build-arg", "VERSION="+version, "--build-arg", "COMMIT="+commit,
				"-t", tag, dir); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = docker(t, env, time.Minute, "image", "rm", "-f", tag) })
			built := inspectConfig(t, env, tag)
			base := inspectConfig(t, env, a.Base.Ref)

			// The hermetic check's model of docker build, from the real base.
			final, err := d.FinalStage(base, args)
			if err != nil {
				t.Fatal(err)
			}
			for _, diff := range ConfigDrift(final.Config, built, BaseImage{Config: base}) {
				t.Errorf("docker build differs from the Dockerfile model: %s", diff)
			}
			// docker build against the Go assembly.
			for _, diff := range ConfigDrift(built, a.Config(version, commit), BaseImage{Ref: a.Base.Ref, Config: base, NotCarried: a.Base.NotCarried}) {
				t.Errorf("docker build differs from the Go image: %s", diff)
			}
			checkFiles(t, env, tag, a)
		})
	}
}

// checkFiles exports a container of the image and checks the Go image's
// files are there, with the modes the Go image gives them.
func checkFiles(t *testing.T, env []string, tag string, a AppImage) {
	t.Helper()
	id, err := docker(t, env, time.Minute, "create", tag)
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	t.Cleanup(func() { _, _ = docker(t, env, time.Minute, "rm", "-f", id) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "export", id)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker export: %v", err)
	}
	modes := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes["/"+strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = h.Mode & 0o7777
	}
	for _, f := range a.Files {
		if m, ok := modes[f.Dst]; !ok || m != f.Mode {
			t.Errorf("%s: docker build has mode %04o (present %v), the Go image %04o", f.Dst, m, ok, f.Mode)
		}
	}
	for _, f := range a.FromBuild {
		if _, ok := modes[f.Dst]; !ok {
			t.Errorf("%s: in the Go image, not in docker build's", f.Dst)
		}
	}
}

// dockerEnv is the docker CLI's environment: DOCKER_HOST when set, else the
// project engine of hack/dockerd.sh when it answers, else the default
// context. It fails when no engine answers.
func dockerEnv() ([]string, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("no docker CLI on PATH")
	}
	env := append(os.Environ(), "DOCKER_BUILDKIT=1")
	own := filepath.Join(testenv.CacheDir(), "docker", "docker.sock")
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat(own); err == nil {
			env = append(env, "DOCKER_HOST=unix://"+own)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return nil, fmt.Errorf("`docker info` fails: %s", lastLine(out, err))
	}
	return env, nil
}

func docker(t *testing.T, env []string, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %s", args[0], lastLine(stderr.Bytes(), err))
	}
	return stdout.String(), nil
}

func inspectConfig(t *testing.T, env []string, ref string) v1.Config {
	t.Helper()
	out, err := docker(t, env, time.Minute, "image", "inspect", "--format", "{{json .Config}}", ref)
	if err != nil {
		t.Fatal(err)
	}
	var cfg v1.Config
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("%s: config: %v", ref, err)
	}
	return cfg
}

// lastLine is the last line a command printed, or its error.
func lastLine(out []byte, err error) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return fmt.Sprint(err)
}

// TestDockerfileModelMatchesDocker checks the hermetic check's model of
// docker build against a real engine, offline: a base image and an image
// built on it, both FROM-scratch Dockerfiles using the instructions that
// shape a config, built by the engine here; docker's config must be what
// FinalStage predicts from docker's config of the base.
func TestDockerfileModelMatchesDocker(t *testing.T) {
	env, err := dockerEnv()
	testenv.Gate(t, err == nil, "docker-build", fmt.Sprintf("checking the Dockerfile model needs a Docker engine: %v", err))
	if _, err := docker(t, env, time.Minute, "buildx", "version"); err != nil {
		env = append(env, "DOCKER_BUILDKIT=0") // the classic builder shapes configs the same way
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UnixNano()
	baseTag := fmt.Sprintf("platform-model-base:%d", stamp)
	base := "FROM scratch\nENV PATH=/opt/bin:/bin UID=7\nLABEL maintainer=\"someone\" keep=base\nUSER 1\nWORKDIR /srv\n" +
		"EXPOSE 80\nENTRYPOINT [\"/init\"]\nCMD [\"serve\", \"--all\"]\n"
	cases := []struct{ name, text string }{
		{"scratch", "FROM scratch\nARG V=dev\nENV A=1 B=\"x y\"\nLABEL v=$V\nCOPY a.txt /etc/a.txt\nUSER 65532:65532\nWORKDIR /srv\nWORKDIR data\n" +
			"EXPOSE 8080 53/udp\nSTOPSIGNAL SIGQUIT\nHEALTHCHECK --interval=7s --timeout=2s --start-period=1s --retries=4 CMD [\"/x\", \"health\"]\n" +
			"CMD echo $A\nENTRYPOINT [\"/app\"]\n"},
		{"on a base", "ARG BASE\nFROM ${BASE}\nARG V=dev\nENV HOME=/h/$UID PATH=${PATH}:/x\nLABEL v=$V keep=child\nUSER $UID\nWORKDIR app\n" +
			"EXPOSE 8080\nHEALTHCHECK CMD wget -q -O /dev/null http://127.0.0.1:${PORT:-80}/ || exit 1\nVOLUME /data\nENTRYPOINT [\"/app\"]\n"},
		{"shell form", "ARG BASE\nFROM ${BASE}\nSHELL [\"/bin/ash\", \"-ec\"]\nENTRYPOINT exec /app \"$@\"\nCMD [\"x\"]\nSTOPSIGNAL 3\n"},
	}
	build := func(tag, text string, args map[string]string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := []string{"build", "-t", tag}
		for k, v := range args {
			cmd = append(cmd, "--build-arg", k+"="+v)
		}
		if _, err := docker(t, env, 5*time.Minute, append(cmd, dir)...); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = docker(t, env, time.Minute, "image", "rm", "-f", tag) })
	}
	build(baseTag, base, nil)
	baseCfg := inspectConfig(t, env, baseTag)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := map[string]string{"V": "9", "BASE": baseTag}
			tag := fmt.Sprintf("platform-model-%d:%d", i, stamp)
			build(tag, c.text, args)
			d, err := ParseDockerfile([]byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			from := baseCfg
			if strings.HasPrefix(c.text, "FROM scratch") {
				from = v1.Config{}
			}
			final, err := d.FinalStage(from, args)
			if err != nil {
				t.Fatal(err)
			}
			got := inspectConfig(t, env, tag)
			for _, diff := range ConfigDrift(got, final.Config, BaseImage{}) {
				t.Errorf("model differs from docker build (docker first): %s", diff)
			}
			t.Logf("docker build's config: %s", show(got))
		})
	}
}
