package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(context.Background(), dir, []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublishAndServe: the working tree (an uncommitted edit, an untracked
// file; not an ignored one) is published as a commit on the branch, on top
// of HEAD, without touching the checkout; the same tree again makes no new
// commit; a client clones it through the server and cannot push.
func TestPublishAndServe(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not installed (Debian package git)")
	}
	ctx := context.Background()
	work := t.TempDir()
	checkout := filepath.Join(work, "checkout")
	git(t, work, "init", "--quiet", "--initial-branch=main", checkout)
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(checkout, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".gitignore", ".cache/\n")
	write("flux/app.yaml", "replicas: 1\n")
	git(t, checkout, "add", "-A")
	git(t, checkout, "commit", "--quiet", "-m", "first")
	head := git(t, checkout, "rev-parse", "HEAD")

	write("flux/app.yaml", "replicas: 2\n") // uncommitted edit
	write("flux/new.yaml", "new: true\n")   // untracked
	write(".cache/secret", "never published\n")
	repos := filepath.Join(work, "repos")
	repo := filepath.Join(repos, "platform.git")
	p1, err := Publish(ctx, checkout, repo, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if !p1.Changed || p1.Base != head {
		t.Fatalf("publish = %+v, want a new commit on %s", p1, head)
	}
	if got := git(t, repo, "rev-parse", "sandbox^"); got != head {
		t.Errorf("parent %s, want HEAD %s", got, head)
	}
	if got := git(t, repo, "show", "sandbox:flux/app.yaml"); got != "replicas: 2" {
		t.Errorf("published app.yaml %q, want the edit", got)
	}
	if got := git(t, repo, "ls-tree", "-r", "--name-only", "sandbox"); got != ".gitignore\nflux/app.yaml\nflux/new.yaml" {
		t.Errorf("published files:\n%s", got)
	}
	// The checkout is as it was: index, HEAD, status.
	if got := git(t, checkout, "status", "--porcelain"); got != "M flux/app.yaml\n?? flux/new.yaml" {
		t.Errorf("checkout status changed:\n%s", got)
	}
	if got := git(t, checkout, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved to %s", got)
	}

	p2, err := Publish(ctx, checkout, repo, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if p2.Changed || p2.Commit != p1.Commit {
		t.Errorf("unchanged tree published again: %+v after %+v", p2, p1)
	}
	write("flux/app.yaml", "replicas: 3\n")
	p3, err := Publish(ctx, checkout, repo, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	if !p3.Changed || p3.Commit == p1.Commit {
		t.Errorf("edit not published: %+v", p3)
	}

	// Generated files join the commit (one replacing a checkout file, one
	// new) and never the checkout; the same ones again change nothing.
	extra := []File{{Path: "flux/app.yaml", Data: []byte("replicas: 4\n")}, {Path: "flux/secrets/x.yaml", Data: []byte("enc: true\n")}}
	p4, err := Publish(ctx, checkout, repo, "sandbox", extra...)
	if err != nil {
		t.Fatal(err)
	}
	if !p4.Changed {
		t.Errorf("extra files not published: %+v", p4)
	}
	if got := git(t, repo, "show", "sandbox:flux/app.yaml") + "|" + git(t, repo, "show", "sandbox:flux/secrets/x.yaml"); got != "replicas: 4|enc: true" {
		t.Errorf("published extra files %q", got)
	}
	if _, err := os.Stat(filepath.Join(checkout, "flux", "secrets")); !os.IsNotExist(err) {
		t.Errorf("extra file written into the checkout (%v)", err)
	}
	if p5, err := Publish(ctx, checkout, repo, "sandbox", extra...); err != nil || p5.Changed || p5.Commit != p4.Commit {
		t.Errorf("same extras published again: %+v %v", p5, err)
	}
	p3, err = Publish(ctx, checkout, repo, "sandbox")
	if err != nil {
		t.Fatal(err)
	}

	h, err := NewGitServer(repos)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	clone := filepath.Join(work, "clone")
	git(t, work, "clone", "--quiet", "--branch", "sandbox", srv.URL+"/platform.git", clone)
	if got := git(t, clone, "rev-parse", "HEAD"); got != p3.Commit {
		t.Errorf("cloned %s, want %s", got, p3.Commit)
	}
	if b, err := os.ReadFile(filepath.Join(clone, "flux", "app.yaml")); err != nil || string(b) != "replicas: 3\n" {
		t.Errorf("cloned app.yaml %q %v", b, err)
	}
	git(t, clone, "commit", "--quiet", "--allow-empty", "-m", "push attempt")
	if out, err := gitOut(ctx, clone, nil, "push", "origin", "HEAD:refs/heads/sandbox"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("push through the server: %q, %v; want 403", out, err)
	}
	for path, want := range map[string]int{
		"/other.git/info/refs?service=git-upload-pack": http.StatusNotFound, // dir has no such repo: http-backend says 404
		"/../etc/passwd":                                   http.StatusNotFound,
		"/platform.git/../../x.git/info/refs":              http.StatusNotFound,
		"/platform.git/info/refs?service=git-receive-pack": http.StatusForbidden,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
