package oci

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Handler serves the registry read-only over the OCI distribution API:
//
//	GET/HEAD /v2/                                   ping
//	GET/HEAD /v2/<name>/manifests/<tag or digest>   manifest
//	GET/HEAD /v2/<name>/blobs/<digest>              blob (Range requests work)
//	GET      /v2/<name>/tags/list                   tags
//
// The upstream host comes from the `ns` query parameter (docker.io without
// it). Every other method answers 405 UNSUPPORTED; errors carry the
// distribution spec's {"errors":[{"code","message","detail"}]} body.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(r.serveHTTP)
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeError(w http.ResponseWriter, req *http.Request, status int, code, message string, detail any) {
	body, _ := json.Marshal(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{Code: code, Message: message, Detail: detail}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (r *Registry) serveHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, req, http.StatusMethodNotAllowed, "UNSUPPORTED",
			"the operation is unsupported", map[string]string{"reason": "this registry is read-only; images are written with (*oci.Registry).Put"})
		return
	}
	path := req.URL.Path
	if path == "/v2" || path == "/v2/" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		if req.Method == http.MethodGet {
			_, _ = w.Write([]byte("{}"))
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		writeError(w, req, http.StatusNotFound, "NOT_FOUND", "not found", map[string]string{"path": path})
		return
	}
	host, err := normalizeHost(req.URL.Query().Get("ns"))
	if err != nil {
		writeError(w, req, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", map[string]string{"ns": req.URL.Query().Get("ns")})
		return
	}
	switch {
	case strings.HasSuffix(rest, "/tags/list"):
		r.serveTags(w, req, host, strings.TrimSuffix(rest, "/tags/list"))
	case strings.Contains(rest, "/manifests/"):
		i := strings.LastIndex(rest, "/manifests/")
		r.serveManifest(w, req, host, rest[:i], rest[i+len("/manifests/"):])
	case strings.Contains(rest, "/blobs/"):
		i := strings.LastIndex(rest, "/blobs/")
		r.serveBlob(w, req, host, rest[:i], rest[i+len("/blobs/"):])
	default:
		writeError(w, req, http.StatusNotFound, "NOT_FOUND", "not found", map[string]string{"path": path})
	}
}

// checkRepo answers NAME_INVALID for a malformed name and NAME_UNKNOWN for a
// repository that holds nothing; it reports whether to go on.
func (r *Registry) checkRepo(w http.ResponseWriter, req *http.Request, host, repo string) bool {
	rd, err := r.repoDir(host, repo)
	if err != nil {
		writeError(w, req, http.StatusBadRequest, "NAME_INVALID", "invalid repository name", map[string]string{"name": repo})
		return false
	}
	if _, err := os.Stat(rd); err != nil {
		writeError(w, req, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry", map[string]string{"name": host + "/" + repo})
		return false
	}
	return true
}

func (r *Registry) serveTags(w http.ResponseWriter, req *http.Request, host, repo string) {
	if !r.checkRepo(w, req, host, repo) {
		return
	}
	tags, err := r.Tags(host, repo)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		writeError(w, req, http.StatusInternalServerError, "UNKNOWN", "unknown error", err.Error())
		return
	}
	if tags == nil {
		tags = []string{}
	}
	body, _ := json.Marshal(map[string]any{"name": repo, "tags": tags})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func (r *Registry) serveManifest(w http.ResponseWriter, req *http.Request, host, repo, reference string) {
	if !r.checkRepo(w, req, host, repo) {
		return
	}
	var h v1.Hash
	if strings.Contains(reference, ":") {
		if !digestRE.MatchString(reference) {
			writeError(w, req, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content", map[string]string{"digest": reference})
			return
		}
		h, _ = v1.NewHash(reference)
		ok, err := r.has(host, repo, "_manifests", h)
		if err != nil {
			writeError(w, req, http.StatusInternalServerError, "UNKNOWN", "unknown error", err.Error())
			return
		}
		if !ok {
			writeError(w, req, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", map[string]string{"name": host + "/" + repo, "reference": reference})
			return
		}
	} else {
		if !tagRE.MatchString(reference) {
			writeError(w, req, http.StatusBadRequest, "TAG_INVALID", "manifest tag did not match URI", map[string]string{"tag": reference})
			return
		}
		var err error
		h, err = r.resolveTag(host, repo, reference)
		if errors.Is(err, fs.ErrNotExist) {
			writeError(w, req, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", map[string]string{"name": host + "/" + repo, "reference": reference})
			return
		}
		if err != nil {
			writeError(w, req, http.StatusInternalServerError, "UNKNOWN", "unknown error", err.Error())
			return
		}
	}
	b, err := os.ReadFile(r.blobPath(h))
	if err != nil {
		writeError(w, req, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown", map[string]string{"name": host + "/" + repo, "reference": reference})
		return
	}
	w.Header().Set("Content-Type", manifestMediaType(b))
	w.Header().Set("Docker-Content-Digest", h.String())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("ETag", `"`+h.String()+`"`)
	if req.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

func (r *Registry) serveBlob(w http.ResponseWriter, req *http.Request, host, repo, digest string) {
	if !r.checkRepo(w, req, host, repo) {
		return
	}
	if !digestRE.MatchString(digest) {
		writeError(w, req, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content", map[string]string{"digest": digest})
		return
	}
	h, _ := v1.NewHash(digest)
	ok, err := r.has(host, repo, "_blobs", h)
	if err != nil {
		writeError(w, req, http.StatusInternalServerError, "UNKNOWN", "unknown error", err.Error())
		return
	}
	var f *os.File
	if ok {
		f, err = os.Open(r.blobPath(h))
	}
	if !ok || err != nil {
		writeError(w, req, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry", map[string]string{"digest": digest})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, req, http.StatusInternalServerError, "UNKNOWN", "unknown error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Docker-Content-Digest", h.String())
	w.Header().Set("ETag", `"`+h.String()+`"`)
	w.Header().Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, req, "", st.ModTime(), f)
}
