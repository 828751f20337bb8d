package validator

import (
	"fmt"
	"strings"
)

// Ingress policies: what the public ingress may reach, and HSTS where it
// terminates TLS.

// AdminPortName is the name of a container or Service port that serves
// in-cluster operations (chaos, probes, metrics, API docs) and must never be
// an Ingress backend.
const AdminPortName = "admin"

// HSTSMinSeconds is the least Strict-Transport-Security max-age a TLS
// ingress may send (one year, what browsers' preload lists ask for).
const HSTSMinSeconds = 31536000

// MiddlewaresAnnotation is how a Kubernetes Ingress names Traefik
// middlewares: a comma-separated list of <provider name>@<provider>; a
// Middleware object ns/name is "<ns>-<name>@kubernetescrd".
const MiddlewaresAnnotation = "traefik.ingress.kubernetes.io/router.middlewares"

type ingressBackend struct {
	field   string
	service string
	port    map[string]any // {name: …} or {number: …}
}

func ingressBackends(ing Object) []ingressBackend {
	var out []ingressBackend
	addBackend := func(field string, b map[string]any) {
		svc, _ := b["service"].(map[string]any)
		if svc == nil {
			return
		}
		name, _ := svc["name"].(string)
		port, _ := svc["port"].(map[string]any)
		out = append(out, ingressBackend{field: field + ".service.port", service: name, port: port})
	}
	if b, ok := get(ing.Map, "spec", "defaultBackend").(map[string]any); ok {
		addBackend("spec.defaultBackend", b)
	}
	rules, _ := get(ing.Map, "spec", "rules").([]any)
	for i, r := range rules {
		paths, _ := get(r.(map[string]any), "http", "paths").([]any)
		for j, p := range paths {
			if b, ok := get(p.(map[string]any), "backend").(map[string]any); ok {
				addBackend(fmt.Sprintf("spec.rules[%d].http.paths[%d].backend", i, j), b)
			}
		}
	}
	return out
}

// checkIngressAdmin: no Ingress backend may lead to an admin port, whether
// the Service port is named admin or targets a container port named admin.
func checkIngressAdmin(objs []Object) []Finding {
	var out []Finding
	services := map[string]Object{}
	for _, o := range objs {
		if o.Kind() == "Service" && groupOf(o.APIVersion()) == "" {
			services[o.Namespace()+"/"+o.Name()] = o
		}
	}
	for _, ing := range objs {
		if ing.Kind() != "Ingress" || groupOf(ing.APIVersion()) != "networking.k8s.io" {
			continue
		}
		for _, b := range ingressBackends(ing) {
			add := func(msg string, a ...any) {
				out = append(out, Finding{File: ing.File, Object: ing.ID(), Field: b.field, Msg: fmt.Sprintf(msg, a...)})
			}
			svc, ok := services[ing.Namespace()+"/"+b.service]
			if !ok {
				add("Service %s/%s does not exist in this cluster", ing.Namespace(), b.service)
				continue
			}
			var sp map[string]any
			sports, _ := get(svc.Map, "spec", "ports").([]any)
			for _, p := range sports {
				pm, _ := p.(map[string]any)
				if n, ok := b.port["name"].(string); ok && pm["name"] == n {
					sp = pm
				}
				if n, ok := b.port["number"].(int64); ok && pm["port"] == n {
					sp = pm
				}
			}
			if sp == nil {
				add("%s has no port %v", svc.ID(), portRef(b.port))
				continue
			}
			if why := adminPort(objs, svc, sp); why != "" {
				add("%s port %v %s: an Ingress must not expose it", svc.ID(), portRef(b.port), why)
			}
			// The Service behind an Ingress carries the public listener only;
			// the admin one gets a Service of its own if anything needs it.
			for _, p := range sports {
				pm, _ := p.(map[string]any)
				if why := adminPort(objs, svc, pm); why != "" && !samePort(pm, sp) {
					out = append(out, Finding{File: svc.File, Object: svc.ID(), Field: fmt.Sprintf("spec.ports[%v]", pm["name"]),
						Msg: fmt.Sprintf("%s (behind %s) also exposes port %v, which %s: give the admin listener a Service of its own", svc.ID(), ing.ID(), pm["port"], why)})
				}
			}
		}
	}
	return out
}

func samePort(a, b map[string]any) bool { return a["name"] == b["name"] && a["port"] == b["port"] }

// adminPort says why a Service port reaches an admin listener ("" if it
// does not): it is named admin, or it targets a container port named admin
// of the pods the Service selects.
func adminPort(objs []Object, svc Object, sp map[string]any) string {
	if sp["name"] == AdminPortName {
		return fmt.Sprintf("is named %q (the admin port, served only inside the cluster)", AdminPortName)
	}
	target := sp["targetPort"]
	if target == nil {
		target = sp["port"]
	}
	podSel, _ := get(svc.Map, "spec", "selector").(map[string]any)
	for _, o := range objs {
		ps, ok := podSpecOf(o)
		if !ok || o.Namespace() != svc.Namespace() {
			continue
		}
		labels, _ := get(o.Map, "spec", "template", "metadata", "labels").(map[string]any)
		if !labelsMatch(podSel, labels) {
			continue
		}
		cs, _ := ps.spec["containers"].([]any)
		for _, c := range cs {
			ports, _ := c.(map[string]any)["ports"].([]any)
			for _, p := range ports {
				pm, _ := p.(map[string]any)
				if pm["name"] == AdminPortName && (target == pm["name"] || target == pm["containerPort"]) {
					return fmt.Sprintf("leads to container port %q of %s, served only inside the cluster", AdminPortName, o.ID())
				}
			}
		}
	}
	return ""
}

func portRef(p map[string]any) string {
	if n, ok := p["name"].(string); ok {
		return fmt.Sprintf("%q", n)
	}
	return fmt.Sprint(p["number"])
}

// traefikIngress reports whether Traefik serves an Ingress: its class is
// traefik, or it names none (Traefik is the clusters' default class).
func traefikIngress(ing Object) bool {
	class := str(ing.Map, "spec", "ingressClassName")
	if class == "" {
		class = str(ing.Map, "metadata", "annotations", "kubernetes.io/ingress.class")
	}
	return class == "" || class == "traefik"
}

// checkIngressHSTS: an Ingress on which Traefik terminates TLS must send
// Strict-Transport-Security: it references, through MiddlewaresAnnotation, a
// Traefik Middleware of this cluster whose headers.stsSeconds is at least
// HSTSMinSeconds.
func checkIngressHSTS(objs []Object) []Finding {
	middlewares := map[string]Object{} // "<ns>-<name>@kubernetescrd" -> Middleware
	for _, o := range objs {
		if o.Kind() == "Middleware" && groupOf(o.APIVersion()) == "traefik.io" {
			middlewares[o.Namespace()+"-"+o.Name()+"@kubernetescrd"] = o
		}
	}
	var out []Finding
	for _, ing := range objs {
		if ing.Kind() != "Ingress" || groupOf(ing.APIVersion()) != "networking.k8s.io" || !traefikIngress(ing) {
			continue
		}
		if tls, _ := get(ing.Map, "spec", "tls").([]any); len(tls) == 0 {
			continue
		}
		field := "metadata.annotations." + MiddlewaresAnnotation
		add := func(msg string, a ...any) {
			out = append(out, Finding{File: ing.File, Object: ing.ID(), Field: field, Msg: fmt.Sprintf(msg, a...)})
		}
		refs := str(ing.Map, "metadata", "annotations", MiddlewaresAnnotation)
		if refs == "" {
			add("missing: Traefik terminates TLS for this Ingress, so it must reference a Middleware with headers.stsSeconds >= %d (HSTS)", HSTSMinSeconds)
			continue
		}
		best, bestRef := int64(-1), ""
		for _, ref := range strings.Split(refs, ",") {
			ref = strings.TrimSpace(ref)
			if !strings.HasSuffix(ref, "@kubernetescrd") {
				continue // another provider's middleware: not visible offline
			}
			mw, ok := middlewares[ref]
			if !ok {
				add("%s names no Middleware of this cluster (want <namespace>-<name>@kubernetescrd)", ref)
				continue
			}
			if s, ok := get(mw.Map, "spec", "headers", "stsSeconds").(int64); ok && s > best {
				best, bestRef = s, ref
			}
		}
		switch {
		case best < 0:
			add("no referenced Middleware sets headers.stsSeconds: Traefik terminates TLS here and must send HSTS (>= %d)", HSTSMinSeconds)
		case best < HSTSMinSeconds:
			add("%s sends HSTS for %d s, less than %d (one year)", bestRef, best, HSTSMinSeconds)
		}
	}
	return out
}
