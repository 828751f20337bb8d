package validator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

var (
	reUnknown = regexp.MustCompile(`unknown field "([^"]+)"`)
	reDup     = regexp.MustCompile(`duplicate field "([^"]+)"`)
	reType    = regexp.MustCompile(`cannot unmarshal (\S+) into Go struct field [A-Za-z0-9_]+\.(\S+) of type (\S+)`)
	reEnc     = regexp.MustCompile(`^ENC\[AES256_GCM,data:.*,iv:.*,tag:.*,type:.*\]$`)
)

// readObjects parses a plain (not kustomize) YAML file.
func readObjects(root, rel string) ([]Object, error) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []Object
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		j, err := yaml.YAMLToJSON(doc)
		if err == nil {
			err = utiljson.Unmarshal(j, &m)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		if m != nil {
			out = append(out, Object{Map: m, File: rel})
		}
	}
}

func (r *runner) checkObject(o Object) []Finding {
	var out []Finding
	add := func(field, msg string, a ...any) {
		out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)})
	}
	gv, err := schema.ParseGroupVersion(o.APIVersion())
	if err != nil || o.APIVersion() == "" || o.Kind() == "" {
		add("apiVersion", "apiVersion and kind are required")
		return out
	}
	if o.Name() == "" {
		add("metadata.name", "required")
	}
	obj := o.Map
	if o.Kind() == "Secret" && gv.Group == "" {
		// The Secret Terraform writes into flux-system (cluster-variables) is
		// in the reference file in clear: it holds no secret (the generator
		// refuses values from sensitive variables) and git never applies it.
		if !o.terraform {
			out = append(out, checkSecret(o)...)
		}
		obj = runtime.DeepCopyJSON(o.Map)
		delete(obj, "sops") // SOPS metadata is removed by kustomize-controller before apply
	}
	g := gvk{gv.Group, gv.Version, o.Kind()}
	kgvk := gv.WithKind(o.Kind())
	switch {
	case scheme.Scheme.Recognizes(kgvk):
		b, _ := json.Marshal(obj)
		if _, _, err := strictDecoder.Decode(b, nil, nil); err != nil {
			out = append(out, decodeFindings(o, err)...)
		}
	case isCRD(o):
		_, fs := decodeCRD(o)
		out = append(out, fs...)
	case r.schemas.Has(gv.Group, o.Kind()):
		errs, ok, err := r.schemas.Validate(g, obj)
		switch {
		case err != nil:
			add("", "CRD schema: %v", err)
		case !ok:
			add("apiVersion", "%s is not served by the CRD of %s (served: %s)", o.APIVersion(), o.Kind(), strings.Join(r.schemas.Versions(gv.Group, o.Kind()), ", "))
		}
		for _, e := range errs {
			add(e.Path, "%s", e.Msg)
		}
	default:
		add("apiVersion", "unknown kind %s: neither a Kubernetes type nor a known CRD", g)
	}
	out = append(out, checkWorkload(o)...)
	out = append(out, checkAutoscalerNodes(o)...)
	out = append(out, checkPlan(o)...)
	if o.Kind() == "PrometheusRule" {
		out = append(out, r.checkRunbooks(o)...)
	}
	return out
}

var reRunbook = regexp.MustCompile(`/(docs/runbooks/[A-Za-z0-9._-]+\.md)(#.*)?$`)

// checkRunbooks: every alert links a runbook that exists in this repository.
func (r *runner) checkRunbooks(o Object) []Finding {
	var out []Finding
	groups, _ := get(o.Map, "spec", "groups").([]any)
	for i, g := range groups {
		rules, _ := get(g.(map[string]any), "rules").([]any)
		for j, rl := range rules {
			rm, _ := rl.(map[string]any)
			if _, isAlert := rm["alert"]; !isAlert {
				continue
			}
			at := fmt.Sprintf("spec.groups[%d].rules[%d].annotations.runbook_url", i, j)
			url := str(rm, "annotations", "runbook_url")
			m := reRunbook.FindStringSubmatch(url)
			switch {
			case url == "":
				out = append(out, Finding{File: o.File, Object: o.ID(), Field: at, Msg: fmt.Sprintf("missing: alert %v needs a runbook under docs/runbooks/", rm["alert"])})
			case m == nil:
				out = append(out, Finding{File: o.File, Object: o.ID(), Field: at, Msg: fmt.Sprintf("%q does not point into docs/runbooks/", url)})
			default:
				if _, err := os.Stat(filepath.Join(r.opts.Root, m[1])); err != nil {
					out = append(out, Finding{File: o.File, Object: o.ID(), Field: at, Msg: fmt.Sprintf("%s does not exist", m[1])})
				}
			}
		}
	}
	return out
}

// decodeFindings turns strict-decoding errors into field-level findings.
func decodeFindings(o Object, err error) []Finding {
	var errs []error
	if se, ok := err.(interface{ Errors() []error }); ok && runtime.IsStrictDecodingError(err) {
		errs = se.Errors()
	} else {
		errs = []error{err}
	}
	var out []Finding
	for _, e := range errs {
		msg := e.Error()
		f := Finding{File: o.File, Object: o.ID(), Msg: msg}
		if m := reUnknown.FindStringSubmatch(msg); m != nil {
			f.Field, f.Msg = m[1], "unknown field"
		} else if m := reDup.FindStringSubmatch(msg); m != nil {
			f.Field, f.Msg = m[1], "duplicate field"
		} else if m := reType.FindStringSubmatch(msg); m != nil {
			f.Field, f.Msg = m[2], fmt.Sprintf("wrong type: got %s, want %s", m[1], m[3])
		}
		out = append(out, f)
	}
	return out
}

// checkSecret: a Secret in git must be SOPS-encrypted, every value.
func checkSecret(o Object) []Finding {
	var out []Finding
	add := func(field, msg string, a ...any) {
		out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)})
	}
	meta, _ := o.Map["sops"].(map[string]any)
	if meta == nil {
		add("", "plaintext Secret: Secrets must be committed SOPS-encrypted (go tool task sops:encrypt)")
		return out
	}
	if s, _ := meta["mac"].(string); !reEnc.MatchString(s) {
		add("sops.mac", "missing or not encrypted: the file was not produced by sops")
	}
	if l, _ := meta["age"].([]any); len(l) == 0 {
		add("sops.age", "no age recipients")
	}
	for _, key := range []string{"data", "stringData"} {
		vals, _ := o.Map[key].(map[string]any)
		for k, v := range vals {
			if s, _ := v.(string); !reEnc.MatchString(s) {
				add(key+"."+k, "value is not SOPS-encrypted")
			}
		}
	}
	return out
}

type podSpecAt struct {
	spec   map[string]any
	prefix string
}

func podSpecOf(o Object) (podSpecAt, bool) {
	switch o.Kind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		m, ok := get(o.Map, "spec", "template", "spec").(map[string]any)
		return podSpecAt{m, "spec.template.spec"}, ok
	case "CronJob":
		m, ok := get(o.Map, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
		return podSpecAt{m, "spec.jobTemplate.spec.template.spec"}, ok
	case "Pod":
		m, ok := get(o.Map, "spec").(map[string]any)
		return podSpecAt{m, "spec"}, ok
	}
	return podSpecAt{}, false
}

// TokenAnnotation on a workload allows automountServiceAccountToken (for pods that talk to the API).
const TokenAnnotation = "sre-platform.io/needs-service-account-token"

// NoProbesAnnotation on a workload exempts it from the probe rule; its value
// is the reason (a program that listens on no port and whose image has no
// shell offers nothing to probe), at least minReason characters long.
const NoProbesAnnotation = "sre-platform.io/no-probes"

const minReason = 20

// checkWorkload: probes, requests/limits, the restricted security context, pinned images.
func checkWorkload(o Object) []Finding {
	ps, ok := podSpecOf(o)
	if !ok {
		return nil
	}
	var out []Finding
	add := func(field, msg string, a ...any) {
		out = append(out, Finding{File: o.File, Object: o.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)})
	}
	longRunning := o.Kind() != "Job" && o.Kind() != "CronJob"
	probes := longRunning
	if reason, set := get(o.Map, "metadata", "annotations", NoProbesAnnotation).(string); set {
		if len(strings.TrimSpace(reason)) < minReason {
			add("metadata.annotations."+NoProbesAnnotation, "must say why the workload cannot be probed (at least %d characters), not %q", minReason, reason)
		} else {
			probes = false
		}
	}
	podSC, _ := ps.spec["securityContext"].(map[string]any)
	if str(o.Map, "metadata", "annotations", TokenAnnotation) != "true" {
		if v, ok := ps.spec["automountServiceAccountToken"].(bool); !ok || v {
			add(ps.prefix+".automountServiceAccountToken", "must be false (or annotate the workload %s: \"true\")", TokenAnnotation)
		}
	}
	for _, group := range []string{"initContainers", "containers"} {
		cs, _ := ps.spec[group].([]any)
		for i, c := range cs {
			cm, _ := c.(map[string]any)
			at := fmt.Sprintf("%s.%s[%d]", ps.prefix, group, i)
			image, _ := cm["image"].(string)
			if msg := imageProblem(image); msg != "" {
				add(at+".image", "%s", msg)
			}
			if group == "containers" && probes {
				for _, p := range []string{"livenessProbe", "readinessProbe"} {
					if cm[p] == nil {
						add(at+"."+p, "missing: every long-running container needs liveness and readiness probes")
					}
				}
			}
			for _, q := range []string{"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"} {
				p := strings.Split(q, ".")
				if get(cm, "resources", p[0], p[1]) == nil {
					add(at+".resources."+q, "missing")
				}
			}
			sc, _ := cm["securityContext"].(map[string]any)
			if !(get(sc, "runAsNonRoot") == true || get(sc, "runAsNonRoot") == nil && get(podSC, "runAsNonRoot") == true) {
				add(at+".securityContext.runAsNonRoot", "must be true (here or in the pod securityContext)")
			}
			seccomp := str(sc, "seccompProfile", "type")
			if seccomp == "" {
				seccomp = str(podSC, "seccompProfile", "type")
			}
			if seccomp != "RuntimeDefault" && seccomp != "Localhost" {
				add(at+".securityContext.seccompProfile.type", "must be RuntimeDefault or Localhost (here or in the pod securityContext)")
			}
			if get(sc, "allowPrivilegeEscalation") != false {
				add(at+".securityContext.allowPrivilegeEscalation", "must be false")
			}
			if get(sc, "readOnlyRootFilesystem") != true {
				add(at+".securityContext.readOnlyRootFilesystem", "must be true")
			}
			drops, _ := get(sc, "capabilities", "drop").([]any)
			hasAll := false
			for _, d := range drops {
				hasAll = hasAll || d == "ALL"
			}
			if !hasAll {
				add(at+".securityContext.capabilities.drop", "must contain ALL")
			}
			if get(sc, "privileged") == true {
				add(at+".securityContext.privileged", "must not be true")
			}
		}
	}
	return out
}

// imageProblem returns why an image reference is not pinned, or "".
func imageProblem(image string) string {
	if image == "" {
		return "missing"
	}
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	last := image[strings.LastIndex(image, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 {
		return fmt.Sprintf("%q has no tag (that means latest): pin a version", image)
	}
	if tag := last[i+1:]; tag == "latest" || tag == "" {
		return fmt.Sprintf("%q uses the mutable tag %q: pin a version", image, tag)
	}
	return ""
}

var reMarker = regexp.MustCompile(`#\s*(\{.*\$imagepolicy.*)$`)

// markers checks every Flux image-policy setter marker under flux/.
func (r *runner) markers() {
	base := filepath.Join(r.opts.Root, "flux")
	_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(r.opts.Root, p)
		rel = filepath.ToSlash(rel)
		if err != nil {
			// An unreadable folder or file is a finding, not a silent skip:
			// its markers would go unchecked.
			r.add(Finding{File: rel, Msg: "cannot read: " + err.Error()})
			return nil //nolint:nilerr // reported as a finding; the walk goes on
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			r.add(Finding{File: rel, Msg: "cannot read: " + err.Error()})
			return nil //nolint:nilerr // reported as a finding; the walk goes on
		}
		if !bytes.Contains(b, []byte("$imagepolicy")) {
			return nil
		}
		for n, line := range strings.Split(string(b), "\n") {
			m := reMarker.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			at := fmt.Sprintf("%s:%d", rel, n+1)
			if f := r.checkMarker(line, m[1]); f != "" {
				r.add(Finding{File: at, Msg: f})
			}
		}
		return nil
	})
}

func (r *runner) checkMarker(line, marker string) string {
	var v map[string]string
	if err := json.Unmarshal([]byte(strings.TrimSpace(marker)), &v); err != nil {
		return fmt.Sprintf("setter marker %s is not valid JSON: %v", strings.TrimSpace(marker), errors.Unwrap(err))
	}
	ref, ok := v["$imagepolicy"]
	if !ok {
		return fmt.Sprintf("setter marker %s has no \"$imagepolicy\" key", strings.TrimSpace(marker))
	}
	parts := strings.Split(ref, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || len(parts) == 3 && parts[2] != "tag" && parts[2] != "name" && parts[2] != "digest" {
		return fmt.Sprintf("setter marker %q: want <namespace>:<imagepolicy>[:tag|:name|:digest]", ref)
	}
	pattern, ok := r.policies[parts[0]+"/"+parts[1]]
	if !ok {
		return fmt.Sprintf("setter marker %q points at ImagePolicy %s/%s, which no cluster defines", ref, parts[0], parts[1])
	}
	// The value the marker sets must be one the policy could have chosen.
	val := line[:strings.Index(line, "#")]
	if i := strings.Index(val, ":"); i >= 0 {
		val = val[i+1:]
	}
	val = strings.Trim(strings.TrimSpace(val), `"'`)
	tag := ""
	switch {
	case len(parts) == 3 && parts[2] == "tag":
		tag = val
	case len(parts) == 2:
		if j := strings.LastIndex(val, ":"); j > strings.LastIndex(val, "/") {
			tag = val[j+1:]
		} else {
			return fmt.Sprintf("setter marker %q: image %q has no tag", ref, val)
		}
	}
	if tag != "" && pattern != "" {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return fmt.Sprintf("ImagePolicy %s/%s: filterTags.pattern %q does not compile: %v", parts[0], parts[1], pattern, err)
		}
		if !re.MatchString(tag) {
			return fmt.Sprintf("setter marker %q: tag %q does not match filterTags.pattern %q", ref, tag, pattern)
		}
	}
	return ""
}
