package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// terraformVars are the extra Terraform variables: the values of
// environments/sandbox's variables that up and down set beyond
// sandbox.tfvars, as TF_VAR_<name>=<value> environment entries, so that no
// value (the token, a key) shows on a command line or in terraform.log.
// A TF_VAR_ value yields to sandbox.tfvars: keep these names out of it. One
// more variable is one more entry here.
func (s *sandboxEnv) terraformVars(token, manifest string) []string {
	vars := []string{
		"TF_VAR_hcloud_token=" + token,
		"TF_VAR_hcloud_endpoint=http://" + s.listen + "/v1",
		"TF_VAR_operator_manifest_path=" + manifest,
		// The FluxInstance becomes Ready only where pods run.
		"TF_VAR_flux_wait=" + strconv.FormatBool(s.nodes == "real"),
	}
	if s.sopsKey != "" {
		vars = append(vars, "TF_VAR_sops_age_key="+s.sopsKey)
	}
	return vars
}

// progressLine picks the lines of terraform apply/destroy shown while they
// run; the whole output goes to terraform.log.
var progressLine = regexp.MustCompile(`^(Apply complete|Destroy complete|No changes)|(Creation|Modifications|Destruction) complete after`)

// lineFilter passes the lines that match re to out as each line completes.
type lineFilter struct {
	re      *regexp.Regexp
	out     io.Writer
	partial []byte
}

func (f *lineFilter) Write(b []byte) (int, error) {
	f.partial = append(f.partial, b...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		f.emit(f.partial[:i+1])
		f.partial = f.partial[i+1:]
	}
}

// Close passes an unterminated last line.
func (f *lineFilter) Close() error {
	if len(f.partial) > 0 {
		f.emit(append(f.partial, '\n'))
		f.partial = nil
	}
	return nil
}

func (f *lineFilter) emit(line []byte) {
	if f.re.Match(bytes.TrimSuffix(line, []byte("\n"))) {
		_, _ = f.out.Write(line)
	}
}

// errorExcerpt is what a failed run's log shows on the terminal: every line
// that starts with "Error" and the 12 after it (as grep -A 12, "--" between
// groups), else the last 30 lines.
func errorExcerpt(log string) string {
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	var b strings.Builder
	last := -1 // the last line written
	for i, l := range lines {
		if !strings.HasPrefix(l, "Error") {
			continue
		}
		from := max(i, last+1)
		if last >= 0 && from > last+1 {
			b.WriteString("--\n")
		}
		for j := from; j <= min(i+12, len(lines)-1); j++ {
			b.WriteString(lines[j] + "\n")
			last = j
		}
	}
	if b.Len() == 0 {
		return lastLines(log, 30)
	}
	return b.String()
}

// tfCmd is terraform in environments/sandbox with the data dir inside the
// sandbox folder (so `down` removes it and another PLATFORM_CACHE gets its
// own).
func (s *sandboxEnv) tfCmd(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(s.terraform, append([]string{"-chdir=" + s.tfRoot()}, args...)...)
	cmd.Env = append(append(os.Environ(), "TF_DATA_DIR="+s.path("terraform")), env...)
	cmd.Stderr = s.errOut
	return cmd
}

// terraformInit initialises environments/sandbox with its state inside the
// sandbox folder.
func (s *sandboxEnv) terraformInit() error {
	// Lock files pin nothing here (every provider comes from the local
	// mirror, built from sources go.sum pins; they are git-ignored): start
	// without one, so a mirror rebuilt by another Go version never fails init.
	if err := os.Remove(filepath.Join(s.tfRoot(), ".terraform.lock.hcl")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cmd := s.tfCmd(nil, "init", "-input=false", "-no-color", "-reconfigure", "-backend-config=path="+s.path("terraform.tfstate"))
	cmd.Stderr = nil
	if out, err := cmd.CombinedOutput(); err != nil {
		_, _ = io.WriteString(s.errOut, lastLines(string(out), 20))
		return errors.New("sandbox: terraform init failed in environments/sandbox")
	}
	return nil
}

// terraformRun runs terraform apply or destroy against the running sandbox:
// progress lines on the terminal as they come, the full output in
// terraform.log; on failure the log's errors on stderr.
func (s *sandboxEnv) terraformRun(op string, vars []string) error {
	logPath := s.path("terraform.log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	filter := &lineFilter{re: progressLine, out: s.out}
	w := io.MultiWriter(log, filter)
	cmd := s.tfCmd(vars, op, "-input=false", "-auto-approve", "-no-color", "-var-file=sandbox.tfvars")
	cmd.Stdout, cmd.Stderr = w, w
	// Ctrl-C reaches terraform too (same process group), which then stops
	// cleanly and writes its state: outlive it, relaying what it prints.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	err = cmd.Run()
	_ = filter.Close()
	if cerr := log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b, _ := os.ReadFile(logPath)
		_, _ = io.WriteString(s.errOut, errorExcerpt(string(b)))
		return fmt.Errorf("terraform %s: %w", op, err)
	}
	return nil
}

// terraformOutput is `terraform output ARGS...` of environments/sandbox.
func (s *sandboxEnv) terraformOutput(args ...string) ([]byte, error) {
	return s.tfCmd(nil, append([]string{"output"}, args...)...).Output()
}

// terraformMirror fills the local provider mirror (hack/tf-mirror.sh,
// cached); its output goes to tf-mirror.log, shown when it fails.
func (s *sandboxEnv) terraformMirror() error {
	logPath := s.path("tf-mirror.log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	cmd := s.command("bash", filepath.Join(s.root, "hack", "tf-mirror.sh"))
	cmd.Stdout = log
	err = cmd.Run()
	log.Close()
	if err != nil {
		b, _ := os.ReadFile(logPath)
		_, _ = s.errOut.Write(b)
		return errors.New("sandbox: tf-mirror failed")
	}
	return nil
}
