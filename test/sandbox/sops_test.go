package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sre-platform/platform/test/testenv"
)

// TestPrepareSOPS: the sandbox's age key is created once (mode 0600) and
// the check Secret is encrypted to it (values only, the recipient named,
// decryptable with the key); a second call reuses both byte for byte (a
// stable published commit); a new key re-encrypts.
func TestPrepareSOPS(t *testing.T) {
	ctx := context.Background()
	tool, err := BuildSOPSTool(ctx, testenv.RepoRoot(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s1, err := PrepareSOPS(ctx, tool, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^AGE-SECRET-KEY-1[0-9A-Z]{58}$`).MatchString(s1.Identity) || !strings.HasPrefix(s1.Recipient, "age1") {
		t.Errorf("identity/recipient malformed: %q", s1.Recipient)
	}
	if fi, err := os.Stat(filepath.Join(dir, "age.agekey")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v, want mode 0600", fi, err)
	}
	if len(s1.Files) != 2 || s1.Files[0].Path != SOPSDir+"/sops-check.yaml" || s1.Files[1].Path != SOPSDir+"/kustomization.yaml" {
		t.Fatalf("files %+v", s1.Files)
	}
	enc := s1.Files[0].Data
	for _, want := range []string{"name: sops-check", "namespace: flux-system", "token: ENC[AES256_GCM,", "recipient: " + s1.Recipient} {
		if !bytes.Contains(enc, []byte(want)) {
			t.Errorf("encrypted Secret lacks %q:\n%s", want, enc)
		}
	}
	if !bytes.Contains(s1.Files[1].Data, []byte("  - sops-check.yaml\n")) {
		t.Errorf("kustomization.yaml:\n%s", s1.Files[1].Data)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "secrets", "*.tmp")); len(left) > 0 {
		t.Errorf("plaintext left behind: %v", left)
	}
	// Decryptable with the key (MAC verified).
	check := filepath.Join(t.TempDir(), "sops-check.yaml")
	if err := os.WriteFile(check, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "-root", t.TempDir(), "decrypt-check", check)
	cmd.Env = append(os.Environ(), "SOPS_AGE_KEY_FILE="+filepath.Join(dir, "age.agekey"))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("decrypt-check with the sandbox's key: %v\n%s", err, out)
	}

	s2, err := PrepareSOPS(ctx, tool, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Identity != s1.Identity || !bytes.Equal(s2.Files[0].Data, enc) {
		t.Error("a second call made a new key or a new ciphertext")
	}

	if err := os.Remove(filepath.Join(dir, "age.agekey")); err != nil {
		t.Fatal(err)
	}
	s3, err := PrepareSOPS(ctx, tool, dir)
	if err != nil {
		t.Fatal(err)
	}
	if s3.Recipient == s1.Recipient || !bytes.Contains(s3.Files[0].Data, []byte("recipient: "+s3.Recipient)) {
		t.Error("a new key did not re-encrypt the Secret to its recipient")
	}
}
