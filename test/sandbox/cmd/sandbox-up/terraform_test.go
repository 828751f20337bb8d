package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An apply as terraform prints it with -no-color (shortened).
const applyOutput = `module.cluster.platform_k3s_cluster.this: Refreshing state... [id=c1]

Terraform used the selected providers to generate the following execution plan.
Plan: 2 to add, 1 to change, 0 to destroy.
module.cluster.hcloud_network.this: Creating...
module.cluster.hcloud_network.this: Creation complete after 1s [id=1]
module.flux.platform_flux_instance.this: Modifying... [id=flux-system/flux]
module.flux.platform_flux_instance.this: Still modifying... [10s elapsed]
module.flux.platform_flux_instance.this: Modifications complete after 12s [id=flux-system/flux]
module.cluster.hcloud_server.old: Destroying... [id=3]
module.cluster.hcloud_server.old: Destruction complete after 2s

Apply complete! Resources: 2 added, 1 changed, 1 destroyed.

Outputs:

app_url = "http://127.0.1.3/"
No changes are mentioned here only as a word.`

func TestProgressFilter(t *testing.T) {
	var out bytes.Buffer
	f := &lineFilter{re: progressLine, out: &out}
	// Written in pieces that split lines, as a pipe delivers them.
	for i := 0; i < len(applyOutput); i += 7 {
		_, _ = f.Write([]byte(applyOutput[i:min(i+7, len(applyOutput))]))
	}
	want := `module.cluster.hcloud_network.this: Creation complete after 1s [id=1]
module.flux.platform_flux_instance.this: Modifications complete after 12s [id=flux-system/flux]
module.cluster.hcloud_server.old: Destruction complete after 2s
Apply complete! Resources: 2 added, 1 changed, 1 destroyed.
No changes are mentioned here only as a word.
`
	// The unterminated last line goes at Close.
	if last := "No changes are mentioned here only as a word.\n"; out.String() != strings.TrimSuffix(want, last) {
		t.Errorf("before Close:\n%s", out.String())
	}
	_ = f.Close()
	if out.String() != want {
		t.Errorf("progress lines:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, l := range []string{"Destroy complete! Resources: 9 destroyed.", "No changes. Your infrastructure matches the configuration."} {
		if !progressLine.MatchString(l) {
			t.Errorf("%q is not a progress line", l)
		}
	}
	if progressLine.MatchString("  Apply complete! (indented, inside a message)") {
		t.Error("an indented line counts as progress")
	}
}

func TestErrorExcerpt(t *testing.T) {
	var log []string
	for i := 0; i < 40; i++ {
		log = append(log, "line "+string(rune('a'+i%26)))
	}
	if got := errorExcerpt(strings.Join(log, "\n") + "\n"); got != strings.Join(log[10:], "\n")+"\n" {
		t.Errorf("no Error line: want the last 30 lines, got\n%s", got)
	}
	log[2] = "Error: first"
	log[5] = "Error: second, inside the first's context"
	log[30] = "Error: third"
	got := errorExcerpt(strings.Join(log, "\n"))
	want := strings.Join(log[2:18], "\n") + "\n--\n" + strings.Join(log[30:40], "\n") + "\n"
	if got != want {
		t.Errorf("excerpt:\n%s\nwant:\n%s", got, want)
	}
}

// terraformRun against a stand-in for the terraform CLI (the outer edge):
// progress lines stream, the whole output lands in terraform.log, variables
// travel in the environment and not on the command line, a failure shows
// the log's errors.
func TestTerraformRun(t *testing.T) {
	s, out, errOut := testSandbox(t, map[string]string{"PLATFORM_SANDBOX_NODES": "api", "PLATFORM_SANDBOX_LISTEN": "127.0.0.1:9480"})
	fake := filepath.Join(t.TempDir(), "terraform")
	script := `#!/bin/sh
echo "$@" > "$SANDBOX_UP_TEST_ARGS"
env | grep '^TF_' | sort > "$SANDBOX_UP_TEST_ENV"
cat "$SANDBOX_UP_TEST_OUTPUT"
if [ "$2" = destroy ]; then
  echo "Error: deleting server: server is locked" >&2
  echo "  with module.cluster.hcloud_server.this," >&2
  exit 1
fi
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args, env, output := filepath.Join(dir, "args"), filepath.Join(dir, "env"), filepath.Join(dir, "output")
	t.Setenv("SANDBOX_UP_TEST_ARGS", args)
	t.Setenv("SANDBOX_UP_TEST_ENV", env)
	t.Setenv("SANDBOX_UP_TEST_OUTPUT", output)
	t.Setenv("TF_VAR_flux_wait", "true") // the caller's own value loses
	if err := os.WriteFile(output, []byte(applyOutput+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.terraform = fake

	if err := s.terraformRun("apply", s.terraformVars("s3cr3t", "/m/install.yaml")); err != nil {
		t.Fatalf("apply: %v\n%s", err, errOut)
	}
	if !strings.HasPrefix(out.String(), "module.cluster.hcloud_network.this: Creation complete after 1s") || strings.Contains(out.String(), "Refreshing") {
		t.Errorf("terminal:\n%s", out)
	}
	if b, _ := os.ReadFile(s.path("terraform.log")); string(b) != applyOutput+"\n" {
		t.Errorf("terraform.log:\n%s", b)
	}
	gotArgs, _ := os.ReadFile(args)
	if want := "-chdir=" + s.tfRoot() + " apply -input=false -auto-approve -no-color -var-file=sandbox.tfvars\n"; string(gotArgs) != want {
		t.Errorf("args %q, want %q", gotArgs, want)
	}
	gotEnv, _ := os.ReadFile(env)
	for _, want := range []string{"TF_DATA_DIR=" + s.path("terraform"), "TF_VAR_flux_wait=false", "TF_VAR_hcloud_endpoint=http://127.0.0.1:9480/v1",
		"TF_VAR_hcloud_token=s3cr3t", "TF_VAR_operator_manifest_path=/m/install.yaml"} {
		if !strings.Contains(string(gotEnv), want+"\n") {
			t.Errorf("environment lacks %s:\n%s", want, gotEnv)
		}
	}
	if strings.Count(string(gotEnv), "TF_VAR_flux_wait=") != 1 {
		t.Errorf("TF_VAR_flux_wait twice:\n%s", gotEnv)
	}

	out.Reset()
	err := s.terraformRun("destroy", s.terraformVars("s3cr3t", "/m/install.yaml"))
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("destroy: %v", err)
	}
	if want := "Error: deleting server: server is locked\n  with module.cluster.hcloud_server.this,\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if b, _ := os.ReadFile(s.path("terraform.log")); !strings.HasSuffix(string(b), "Error: deleting server: server is locked\n  with module.cluster.hcloud_server.this,\n") {
		t.Errorf("terraform.log lacks stderr:\n%s", b)
	}
}

func TestTerraformVarsRealNodes(t *testing.T) {
	s, _, _ := testSandbox(t, nil)
	got := strings.Join(s.terraformVars("tok", "/m"), " ")
	if want := "TF_VAR_hcloud_token=tok TF_VAR_hcloud_endpoint=http://127.0.0.1:8480/v1 TF_VAR_operator_manifest_path=/m TF_VAR_flux_wait=true"; got != want {
		t.Errorf("terraformVars = %s, want %s", got, want)
	}
	// Once up made the sandbox's age key, it travels the same way.
	s.sopsKey = "AGE-SECRET-KEY-1TEST"
	if got := s.terraformVars("tok", "/m"); got[len(got)-1] != "TF_VAR_sops_age_key=AGE-SECRET-KEY-1TEST" {
		t.Errorf("terraformVars with a key = %v", got)
	}
}

// Ctrl-C during an apply: the command outlives it and relays terraform's
// output to the end (terraform, in the same process group, gets the same
// SIGINT and stops cleanly). Without that, this test binary would die here.
func TestTerraformRunOutlivesInterrupt(t *testing.T) {
	s, out, _ := testSandbox(t, nil)
	started := filepath.Join(t.TempDir(), "started")
	fake := filepath.Join(t.TempDir(), "terraform")
	script := "#!/bin/sh\ntouch " + started + "\nsleep 1\necho 'Apply complete! Resources: 0 added, 0 changed, 0 destroyed.'\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s.terraform = fake
	go func() {
		for !exists(started) {
			time.Sleep(10 * time.Millisecond)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	if err := s.terraformRun("apply", nil); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n" {
		t.Errorf("output %q", out)
	}
}
