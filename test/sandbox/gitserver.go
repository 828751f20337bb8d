package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// gitHTTPBackend is git's smart-HTTP CGI program (Debian package git).
const gitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// repoName is what a served repository may be called: <name>.git.
var repoName = regexp.MustCompile(`^/[A-Za-z0-9][A-Za-z0-9._-]*\.git(/|$)`)

// NewGitServer serves the bare repositories in dir read-only over Git's
// smart HTTP protocol (git http-backend behind net/http/cgi): clones and
// fetches work, pushes get 403, and so does anything outside dir.
func NewGitServer(dir string) (http.Handler, error) {
	if _, err := os.Stat(gitHTTPBackend); err != nil {
		return nil, fmt.Errorf("git server: %s missing (Debian package git: go tool task deps)", gitHTTPBackend)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	backend := &cgi.Handler{
		Path: gitHTTPBackend,
		Root: "/",
		Dir:  abs,
		Env:  []string{"GIT_PROJECT_ROOT=" + abs, "GIT_HTTP_EXPORT_ALL=1"},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodPost:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case !repoName.MatchString(r.URL.Path) || strings.Contains(r.URL.Path, ".."):
			http.Error(w, "no such repository", http.StatusNotFound)
		case strings.HasSuffix(r.URL.Path, "/git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack":
			http.Error(w, "read-only: push to the checkout and run `go tool task up`", http.StatusForbidden)
		default:
			backend.ServeHTTP(w, r)
		}
	}), nil
}

// File is a file added to a publication: Path is slash-separated, relative
// to the repository's root.
type File struct {
	Path string
	Data []byte
}

// Published is one publication of a working tree.
type Published struct {
	Commit  string // the commit on the branch
	Base    string // the checkout's HEAD it was made on ("" without one)
	Changed bool   // false: the branch already had this tree
}

// Publish commits the working tree of checkout as it is now (tracked files
// and untracked ones .gitignore does not exclude, uncommitted changes
// included) onto branch of the bare repository repo, creating the
// repository when missing. The commit's parent is the checkout's HEAD; the
// checkout's index, branches and files are left alone. When the branch
// already points at a commit of the same tree, nothing changes, so a
// revision stays stable until something is edited.
//
// extra files are added to the commit (replacing the checkout's file of the
// same path) without touching the checkout: what the sandbox generates for
// its own cluster, such as its SOPS-encrypted Secrets.
func Publish(ctx context.Context, checkout, repo, branch string, extra ...File) (Published, error) {
	var p Published
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		if err := os.MkdirAll(repo, 0o755); err != nil {
			return p, err
		}
		if _, err := gitOut(ctx, repo, nil, "init", "--quiet", "--bare", "--initial-branch="+branch); err != nil {
			return p, err
		}
	}
	idx, err := os.CreateTemp("", "publish-index-*")
	if err != nil {
		return p, err
	}
	idx.Close()
	defer os.Remove(idx.Name())
	env := []string{"GIT_INDEX_FILE=" + idx.Name()}
	if head, err := gitOut(ctx, checkout, nil, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); err == nil {
		p.Base = head
		if _, err := gitOut(ctx, checkout, env, "read-tree", head); err != nil {
			return p, err
		}
	}
	if _, err := gitOut(ctx, checkout, env, "add", "--all", "--", "."); err != nil {
		return p, err
	}
	for _, f := range extra {
		blob, err := gitIn(ctx, checkout, f.Data, "hash-object", "-w", "--stdin")
		if err != nil {
			return p, err
		}
		if _, err := gitOut(ctx, checkout, env, "update-index", "--add", "--cacheinfo", "100644,"+blob+","+f.Path); err != nil {
			return p, err
		}
	}
	tree, err := gitOut(ctx, checkout, env, "write-tree")
	if err != nil {
		return p, err
	}
	ref := "refs/heads/" + branch
	if cur, err := gitOut(ctx, repo, nil, "rev-parse", "--verify", "--quiet", ref+"^{tree}"); err == nil && cur == tree {
		p.Commit, err = gitOut(ctx, repo, nil, "rev-parse", ref)
		return p, err
	}
	args := []string{"commit-tree", tree, "-m", "sandbox: working tree of " + checkout + " at " + time.Now().UTC().Format(time.RFC3339)}
	if p.Base != "" {
		args = append(args, "-p", p.Base)
	}
	ident := []string{"GIT_AUTHOR_NAME=sandbox", "GIT_AUTHOR_EMAIL=sandbox@localhost",
		"GIT_COMMITTER_NAME=sandbox", "GIT_COMMITTER_EMAIL=sandbox@localhost"}
	if p.Commit, err = gitOut(ctx, checkout, ident, args...); err != nil {
		return p, err
	}
	if _, err := gitOut(ctx, checkout, nil, "push", "--quiet", "--force", repo, p.Commit+":"+ref); err != nil {
		return p, err
	}
	p.Changed = true
	return p, nil
}

// gitOut runs git in dir and returns its trimmed standard output.
func gitOut(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	return run(ctx, dir, env, nil, "git", args...)
}

// gitIn runs git in dir with stdin as its standard input.
func gitIn(ctx context.Context, dir string, stdin []byte, args ...string) (string, error) {
	return run(ctx, dir, nil, stdin, "git", args...)
}

// run runs bin with args in dir (the working directory when empty), env
// added to this process's, and returns its trimmed standard output; an
// error names the program, its first argument and what it said on stderr.
func run(ctx context.Context, dir string, env []string, stdin []byte, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		where := ""
		if dir != "" {
			where = " (in " + dir + ")"
		}
		return "", fmt.Errorf("%s %s%s: %s", filepath.Base(bin), args[0], where, msg)
	}
	return strings.TrimSpace(out.String()), nil
}
