package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sre-platform/platform/test/fluxoperator"
	"github.com/sre-platform/platform/test/internal/procfs"
	"github.com/sre-platform/platform/test/sandbox"
)

// up starts the sandbox unless it runs and applies environments/sandbox
// against it: each step below is skipped (or quick) when already done.
func (s *sandboxEnv) up() error {
	start := time.Now()
	if err := os.MkdirAll(s.bin, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(s.dir, 0o700); err != nil {
		return err
	}
	kube, err := s.kubeBinDir()
	if err != nil {
		return err
	}
	if err := s.nodePrerequisites(); err != nil {
		return err
	}
	if err := s.command("go", "build", "-o", s.bin+"/", "./test/sandbox/cmd/sandbox").Run(); err != nil {
		return fmt.Errorf("sandbox: building test/sandbox/cmd/sandbox failed: %v", err)
	}
	token, err := s.ensureToken()
	if err != nil {
		return err
	}
	if err := s.ensureRunning(kube, token); err != nil {
		return err
	}
	manifest, err := fluxoperator.Ensure(s.cache, s.operatorVersion)
	if err != nil {
		return fmt.Errorf("sandbox: the Flux Operator manifest: %v", err)
	}
	commit := ""
	if s.nodes == "real" {
		// The sandbox's age key (Terraform hands it to the cluster as
		// flux-system/sops-age) and its Secrets encrypted to it, which
		// join the published commit in flux/secrets/sandbox.
		sops, err := prepareSOPS(s.root, s.cache, s.dir)
		if err != nil {
			return fmt.Errorf("sandbox: SOPS: %v", err)
		}
		s.sopsKey = sops.Identity
		s.say("sandbox: SOPS age key %s (recipient %s); Secret flux-system/%s published encrypted in %s",
			s.path("age.agekey"), sops.Recipient, sandbox.SOPSCheckSecret, sandbox.SOPSDir)
		// What Flux syncs: the working tree as it is now, uncommitted edits too.
		if commit, err = publishTree(s.root, filepath.Join(s.dir, "git", "platform.git"), "sandbox", s.errOut, sops.Files...); err != nil {
			return err
		}
	}
	if err := s.terraformMirror(); err != nil {
		return err
	}
	if err := s.terraformInit(); err != nil {
		return err
	}
	s.say("sandbox: terraform apply environments/sandbox (log: %s)", s.path("terraform.log"))
	if err := s.terraformRun("apply", s.terraformVars(token, manifest)); err != nil {
		return fmt.Errorf("sandbox: terraform apply failed (log: %s; retry: go tool task up)", s.path("terraform.log"))
	}
	if err := s.writeKubeconfig(); err != nil {
		return err
	}
	nodes, err := s.nodeNames()
	if err != nil {
		return err
	}
	w := waitOptions{kubeconfig: s.kubeconfig(), nodes: nodes, timeout: 2 * time.Minute, fluxTimeout: 5 * time.Minute}
	if commit != "" {
		out, err := s.terraformOutput("-raw", "app_url")
		if err != nil {
			return fmt.Errorf("sandbox: terraform output app_url: %v", err)
		}
		w.commit, w.appURL = commit, string(out)
		if err := waitFor(w); err != nil {
			fmt.Fprintf(s.errOut, "sandbox-up: %v\n", err)
			return fmt.Errorf("sandbox: Flux did not deliver %s (go tool task status shows every Kustomization)", commit)
		}
	} else {
		if err := waitFor(w); err != nil {
			return fmt.Errorf("sandbox-up: %v", err)
		}
		s.say("sandbox: API-only nodes run no pod: Flux is installed but does not reconcile")
	}
	s.say("sandbox: up in %ds", int(time.Since(start).Seconds()))
	s.say("")
	if w.appURL != "" {
		s.say("  app:  %s   (the frontend; /api/ reaches the backend through nginx in the cluster)", w.appURL)
	}
	s.say("  export KUBECONFIG=%s", s.kubeconfig())
	s.say("  kubectl get nodes -o wide; kubectl -n flux-system get fluxinstance flux")
	s.say("  export HCLOUD_ENDPOINT=http://%s/v1 HCLOUD_TOKEN=$(cat %s)   # hcloud CLI / Terraform by hand", s.listen, s.tokenFile())
	s.say("  go tool task plan ENV=sandbox | go tool task status | go tool task down")
	return nil
}

// down destroys environments/sandbox (unless keep), stops the service and
// what it started by PID, and removes the sandbox folder (unless keep).
func (s *sandboxEnv) down(keep bool) error {
	if !keep && nonEmpty(s.path("terraform.tfstate")) {
		s.destroy()
	}
	if pid, ok := livePID(s.pidFile(), s.serviceExe()); ok {
		s.stopService(pid)
		s.say("sandbox: stopped pid %d", pid)
	} else {
		if _, err := os.Stat(s.pidFile()); err == nil {
			s.say("sandbox: stale pid file removed")
		}
		s.say("sandbox: not running")
	}
	if err := os.Remove(s.pidFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// A sandbox that had to be killed left its real nodes on the host; what
	// it created is recorded in its state, which is about to go: remove it
	// first.
	if !keep && nonEmpty(filepath.Join(s.stateDir(), "clusters", "host-state.json")) && isExecutable(s.serviceExe()) {
		if err := s.command(s.serviceExe(), "--state-dir", s.stateDir(), "--clean-host").Run(); err != nil {
			s.say("sandbox: cleaning what real nodes left failed (see above)")
		}
	}
	if keep {
		s.say("sandbox: state kept in %s", s.dir)
		return nil
	}
	if _, err := os.Stat(s.dir); err == nil {
		if err := os.RemoveAll(s.dir); err != nil {
			return err
		}
		s.say("sandbox: removed %s", s.dir)
	}
	return nil
}

// destroy runs terraform destroy while the service runs; without it the
// emulator state, and so every resource, goes with the sandbox folder.
func (s *sandboxEnv) destroy() {
	_, running := livePID(s.pidFile(), s.serviceExe())
	token, err := os.ReadFile(s.tokenFile())
	if !running || err != nil || len(token) == 0 {
		s.say("sandbox: not running, skipping terraform destroy (the emulator state is removed with it)")
		return
	}
	start := time.Now()
	// The root needs an existing manifest file even to destroy.
	manifest, err := fluxoperator.Ensure(s.cache, s.operatorVersion)
	if err != nil {
		manifest = os.DevNull
	}
	if err := s.terraformInit(); err != nil {
		s.say("sandbox: %v; stopping the sandbox anyway (its state goes with it)", err)
		return
	}
	s.say("sandbox: terraform destroy environments/sandbox (log: %s)", s.path("terraform.log"))
	if err := s.terraformRun("destroy", s.terraformVars(strings.TrimSpace(string(token)), manifest)); err != nil {
		s.say("sandbox: terraform destroy failed; stopping the sandbox anyway (its state goes with it)")
		return
	}
	s.say("sandbox: destroyed in %ds", int(time.Since(start).Seconds()))
}

// stopService stops the service and then whatever it started that is still
// there: it stops its control planes and nodes itself, and the kernel kills
// them when it could not, but make sure, by PID.
func (s *sandboxEnv) stopService(pid int) {
	self, ok := procfs.ReadStat(proc, pid)
	if !ok {
		return
	}
	kids := procfs.Descendants(procfs.Table(proc), pid)
	stopProcs([]procfs.Proc{self}, s.stopWait, s.out)
	stopProcs(kids, s.childWait, s.out)
}

// ensureRunning starts the service in the background unless it runs.
func (s *sandboxEnv) ensureRunning(kube, token string) error {
	if pid, ok := livePID(s.pidFile(), s.serviceExe()); ok {
		s.say("sandbox: already running (pid %d)", pid)
		return nil
	}
	endpoints := filepath.Join(s.stateDir(), "endpoints.json")
	for _, f := range []string{s.pidFile(), endpoints} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	log, err := os.OpenFile(s.logFile(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.serviceExe(), "--state-dir", s.stateDir(), "--listen", s.listen, "--admin-listen", s.adminListen,
		"--speed", s.speed, "--ipv4-pool", s.pool, "--kube-bin-dir", kube, "--token", "sandbox:"+token,
		"--nodes", s.nodes, "--git-dir", filepath.Join(s.dir, "git"))
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.root, log, log
	// Its own session: a closing terminal does not stop it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sandbox: failed to start: %v", err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := os.WriteFile(s.pidFile(), fmt.Appendf(nil, "%d\n", pid), 0o600); err != nil {
		return err
	}
	deadline := time.After(s.startWait)
	for !exists(endpoints) {
		select {
		case <-exited:
			b, _ := os.ReadFile(s.logFile())
			_, _ = io.WriteString(s.errOut, lastLines(string(b), 20))
			return fmt.Errorf("sandbox: failed to start (log: %s)", s.logFile())
		case <-deadline:
			return fmt.Errorf("sandbox: no endpoints after %gs (log: %s)", s.startWait.Seconds(), s.logFile())
		case <-time.After(100 * time.Millisecond):
		}
	}
	s.say("sandbox: started (pid %d), Hetzner API http://%s/v1, log %s", pid, s.listen, s.logFile())
	return nil
}

// ensureToken returns the sandbox project's API token, made once: 32 random
// bytes in hex, readable by the owner only.
func (s *sandboxEnv) ensureToken() (string, error) {
	if b, err := os.ReadFile(s.tokenFile()); err == nil && len(bytes.TrimSpace(b)) > 0 {
		return string(bytes.TrimSpace(b)), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b)
	return t, os.WriteFile(s.tokenFile(), []byte(t), 0o600)
}

// kubeBinDir is a folder with kube-apiserver and etcd: PLATFORM_KUBE_BIN_DIR
// or KUBEBUILDER_ASSETS when they hold both, else the build of
// test/tools/kube (cached; it prints the folder last).
func (s *sandboxEnv) kubeBinDir() (string, error) {
	for _, d := range s.kubeBinDirs {
		if d != "" && isExecutable(filepath.Join(d, "kube-apiserver")) && isExecutable(filepath.Join(d, "etcd")) {
			return d, nil
		}
	}
	var out bytes.Buffer
	cmd := s.command("bash", filepath.Join(s.root, "test", "tools", "kube", "build.sh"))
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("sandbox: building kube-apiserver and etcd failed (test/tools/kube/build.sh): %v", err)
	}
	return strings.TrimSpace(lastLines(out.String(), 1)), nil
}

// nodePrerequisites: real nodes need the node packages (containerd, runc,
// CNI plugins, iptables) and the images in the local registry.
func (s *sandboxEnv) nodePrerequisites() error {
	if s.nodes != "real" {
		return nil
	}
	cmd := s.command("bash", filepath.Join(s.root, "hack", "deps.sh"), "nodes")
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sandbox: the node packages are missing (bash hack/deps.sh nodes: %v)", err)
	}
	if st, err := os.Stat(filepath.Join(s.cache, "registry")); err == nil && st.IsDir() {
		return nil
	}
	if err := s.command("go", "tool", "task", "images:build").Run(); err != nil {
		return fmt.Errorf("sandbox: building the images failed (go tool task images:build: %v)", err)
	}
	return nil
}

// writeKubeconfig writes the root's kubeconfig output to <dir>/kubeconfig,
// readable by the owner only, replacing the old one at once.
func (s *sandboxEnv) writeKubeconfig() error {
	out, err := s.terraformOutput("-raw", "kubeconfig")
	if err != nil {
		return fmt.Errorf("sandbox: terraform output kubeconfig: %v", err)
	}
	tmp := s.kubeconfig() + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.kubeconfig())
}

// nodeNames is the root's node_names output.
func (s *sandboxEnv) nodeNames() ([]string, error) {
	out, err := s.terraformOutput("-json", "node_names")
	if err != nil {
		return nil, fmt.Errorf("sandbox: terraform output node_names: %v", err)
	}
	var names []string
	if err := json.Unmarshal(out, &names); err != nil {
		return nil, fmt.Errorf("sandbox: terraform output node_names: %v", err)
	}
	return names, nil
}

// command runs a program of the checkout's tool chain at the root, its
// output on the terminal.
func (s *sandboxEnv) command(name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(context.Background(), name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.root, s.out, s.errOut
	return cmd
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func nonEmpty(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Size() > 0
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// lastLines is the last n lines of s (tail -n).
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
