package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/retry"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sre-platform/platform/test/testenv"
)

// e2eLabel marks every Hetzner resource a suite run creates (beside the
// module's cluster=<name>), so leftovers of an aborted run are easy to find:
// hcloud server list -l e2e=terratest.
const e2eLabel = "terratest"

// TestHcloud is the Hetzner suite: environments/develop (its develop.tfvars,
// a unique cluster name, local state instead of the S3 backend) applied with
// Terratest on real Hetzner Cloud, an idempotent re-apply, the Hetzner labels
// checked, the cloud controllers' Secret kube-system/hcloud (this run's token
// and network ID), then the full-cluster checks (nodes Ready with roles,
// FluxInstance Ready, and — with the develop SOPS key — the apps available, the backend's
// /api/info through the Traefik load balancer, the backend's Prometheus target
// up). It always destroys, then sweeps the project by label and deletes (and
// fails on) anything of this cluster that survived.
//
// Gated on HCLOUD_TOKEN: a read/write token of a Hetzner project that holds
// nothing else (see docs/e2e.md).
func TestHcloud(t *testing.T) {
	token := os.Getenv("HCLOUD_TOKEN")
	testenv.Gate(t, token != "", "hcloud",
		"HCLOUD_TOKEN is not set: TestHcloud creates real Hetzner Cloud servers (environments/develop, a few cents a run); "+
			"set it to a read/write API token of a Hetzner project used only for this suite")
	requireTime(t, 75*time.Minute)

	facts, err := loadGitOpsFacts(testenv.RepoRoot(), "develop")
	if err != nil {
		t.Fatalf("reading the expectations from the GitOps tree: %v", err)
	}
	ctx := context.Background()
	hc := hcloud.NewClient(hcloud.WithToken(token), hcloud.WithApplication("sre-platform-e2e", ""),
		hcloud.WithEndpoint(envOr("HCLOUD_ENDPOINT", "https://api.hetzner.cloud/v1")))

	// Without the SOPS key Flux cannot decrypt flux/secrets/develop (the
	// Alertmanager receivers), so observability, and after it infra-configs
	// and the apps, never become Ready. The cloud controllers' Secret does not
	// depend on it: Terraform creates it (checkCloudSecret).
	appsSkip := ""
	sopsKey := os.Getenv("TF_VAR_sops_age_key")
	sops := sopsKey != ""
	if !sops {
		appsSkip = "TF_VAR_sops_age_key is not set: flux/clusters/develop decrypts flux/secrets/develop (Alertmanager receivers) " +
			"in the observability stage, which infra-configs and the apps wait for, so the apps, ingress and prometheus " +
			"checks need the develop SOPS key (docs/runbooks/sops.md)"
		t.Logf("SOPS: %s", appsSkip)
	}

	// Pre-flight: the token works, and the cloud-controller-manager of this
	// run cannot take over a load balancer it did not create (the Traefik
	// Service asks for one by name, and the controller adopts an existing
	// one of that name). The controllers and Traefik run with or without the
	// SOPS key (infra-controllers decrypts nothing).
	if _, err := hc.Location.All(ctx); err != nil {
		t.Fatalf("Hetzner API with HCLOUD_TOKEN: %v", err)
	}
	if facts.TraefikLBName != "" {
		lb, _, err := hc.LoadBalancer.GetByName(ctx, facts.TraefikLBName)
		if err != nil {
			t.Fatalf("Hetzner API: %v", err)
		}
		if lb != nil {
			t.Fatalf("this Hetzner project already has a load balancer named %q (id %d): the Traefik Service of "+
				"flux/infrastructure/controllers/traefik asks for that name, so this run's cloud-controller-manager would "+
				"adopt it and replace its targets. Run the suite in a project of its own (docs/e2e.md).", lb.Name, lb.ID)
		}
	}

	name := uniqueName("e2e")
	sweep := &hcloudSweep{hc: hc, cluster: name, start: time.Now(), lbName: facts.TraefikLBName,
		serviceUIDs: map[string]bool{}, volumeIDs: map[int64]bool{}}
	// Cleanups run last-registered first: destroy, then the sweep.
	t.Cleanup(func() { sweep.run(t) })

	dir := isolatedRoot(t, "develop")
	vars := map[string]any{
		"cluster_name": name,
		"labels":       map[string]string{"e2e": e2eLabel},
	}
	if ep := os.Getenv("HCLOUD_ENDPOINT"); ep != "" {
		vars["hcloud_endpoint"] = ep
	}
	// develop.tfvars holds a placeholder for the API's CIDRs, which a plan
	// against Hetzner refuses. PLATFORM_E2E_API_CIDRS names this machine's;
	// without it the throwaway cluster's API is open (client certificates
	// still required), as a CI runner's address is not known in advance.
	if cidrs := os.Getenv("PLATFORM_E2E_API_CIDRS"); cidrs != "" {
		vars["api_allowed_cidrs"] = strings.Split(cidrs, ",")
	} else {
		vars["api_allowed_cidrs"] = []string{"0.0.0.0/0", "::/0"}
		vars["allow_public_api"] = true
	}
	gitVars(vars)
	secrets := map[string]string{"hcloud_token": token}
	if sops {
		secrets["sops_age_key"] = sopsKey
	}
	opts := rootOptions(t, "develop", vars, secrets)
	opts.TerraformDir = dir
	opts.VarFiles = []string{filepath.Join(dir, "develop.tfvars")}
	opts.SetVarsAfterVarFiles = true
	t.Logf("cluster %s (Hetzner label cluster=%s, e2e=%s)", name, name, e2eLabel)

	var kc kubernetes.Interface
	var once sync.Once
	destroy := func() {
		once.Do(func() {
			if kc != nil {
				beforeDestroy(t, kc, sweep)
			}
			start := time.Now()
			if _, err := terraform.DestroyContextE(t, context.Background(), opts); err != nil {
				t.Errorf("terraform destroy: %v (the leak sweep deletes what is left)", err)
			} else {
				t.Logf("destroy: %s", time.Since(start).Round(time.Second))
			}
		})
	}
	t.Cleanup(destroy)
	defer destroy()

	start := time.Now()
	terraform.InitAndApplyAndIdempotentContext(t, t.Context(), opts)
	t.Logf("apply + idempotent plan: %s", time.Since(start).Round(time.Second))

	kubeconfig := sensitiveOutput(t, opts, "kubeconfig")
	kc, _, _ = clients(t, kubeconfig)
	networkID := terraform.OutputContext(t, t.Context(), opts, "network_id")
	// Before anything else: with a wrong Secret the controllers would act in
	// another network or project, outside this suite's leak sweep.
	checkCloudSecret(t, ctx, kc, token, networkID)
	if ep := terraform.OutputContext(t, t.Context(), opts, "api_endpoint"); !strings.HasPrefix(ep, "https://") || !strings.HasSuffix(ep, ":6443") {
		t.Errorf("api_endpoint output %q, want https://<address>:6443", ep)
	}
	if p := terraform.OutputContext(t, t.Context(), opts, "flux_cluster_path"); p != "flux/clusters/develop" {
		t.Errorf("flux_cluster_path output %q, want flux/clusters/develop", p)
	}

	// Nodes from the node_names output: <name>-cp-<n> servers, <name>-<pool>-<n> agents.
	nodes := map[string]nodeWant{}
	servers, agents := 0, 0
	for _, n := range terraform.OutputListContext(t, t.Context(), opts, "node_names") {
		if strings.HasPrefix(n, name+"-cp-") {
			nodes[n] = nodeWant{controlPlane: true}
			servers++
			continue
		}
		pool := strings.TrimPrefix(n, name+"-")
		pool = pool[:max(0, strings.LastIndex(pool, "-"))]
		nodes[n] = nodeWant{labels: map[string]string{"platform.sre/pool": pool}}
		agents++
	}
	if servers == 0 || agents == 0 {
		t.Errorf("node_names: %d servers and %d agents, want at least one of each (develop.tfvars)", servers, agents)
	}

	// Every server carries the labels the sweep and the API load balancer rely on.
	hs, err := hc.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "cluster=" + name}})
	if err != nil {
		t.Fatalf("listing servers: %v", err)
	}
	if len(hs) != len(nodes) {
		t.Errorf("%d Hetzner servers with label cluster=%s, want %d (one per node)", len(hs), name, len(nodes))
	}
	for _, s := range hs {
		for k, v := range map[string]string{"environment": "develop", "e2e": e2eLabel, "managed-by": "terraform"} {
			if s.Labels[k] != v {
				t.Errorf("server %s: label %s=%q, want %q", s.Name, k, s.Labels[k], v)
			}
		}
	}

	checkFullCluster(t, fullCluster{
		flux:       "develop",
		kubeconfig: kubeconfig,
		nodes:      nodes,
		appsSkip:   appsSkip,
		ingressBase: func(ctx context.Context, kc kubernetes.Interface, scheme string) (string, error) {
			svc, err := traefikService(ctx, kc, facts)
			if err != nil {
				return "", err
			}
			if ip := publicIPv4(svc); ip != "" {
				return scheme + "://" + ip, nil
			}
			return "", fmt.Errorf("Service %s/%s has no public IPv4 yet (status %v)", svc.Namespace, svc.Name, svc.Status.LoadBalancer.Ingress)
		},
	})

	destroy()
}

// publicIPv4 is the first public IPv4 among a LoadBalancer Service's ingress
// addresses.
func publicIPv4(svc *corev1.Service) string {
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil && a.Is4() && !a.IsPrivate() && !a.IsLoopback() {
			return a.String()
		}
	}
	return ""
}

// isolatedRoot copies environments/<env> and modules/ (relative module
// sources keep working) into a temp dir without .terraform, lock files or
// state, and replaces the root's S3 backend with a local one: a test run
// never touches the environment's real state.
func isolatedRoot(t *testing.T, env string) string {
	t.Helper()
	root, work := testenv.RepoRoot(), t.TempDir()
	for _, top := range []string{"modules", filepath.Join("environments", env)} {
		if err := copyTree(filepath.Join(root, top), filepath.Join(work, top)); err != nil {
			t.Fatalf("copying %s: %v", top, err)
		}
	}
	dir := filepath.Join(work, "environments", env)
	override := "# test/e2e: local state for one test run instead of the S3 backend.\nterraform {\n  backend \"local\" {}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "backend_override.tf"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if n == ".terraform" || n == ".terraform.lock.hcl" || strings.Contains(n, ".tfstate") || n == "backend.hcl" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// ---------------------------------------------------------------- leak sweep

// hcloudSweep finds what a run left in the Hetzner project: everything with
// the module's label cluster=<name>, the load balancers the
// cloud-controller-manager created for this cluster's Services, and the
// volumes the CSI driver created for its PersistentVolumes.
type hcloudSweep struct {
	hc      *hcloud.Client
	cluster string
	start   time.Time
	lbName  string // the Traefik Service's load balancer name (absent before the run: pre-flight)

	mu          sync.Mutex
	serviceUIDs map[string]bool // UIDs of Services of type LoadBalancer (label hcloud-ccm/service-uid)
	volumeIDs   map[int64]bool  // Hetzner volume IDs of csi.hetzner.cloud PersistentVolumes
}

// beforeDestroy does what docs/runbooks/environment-lifecycle.md asks before
// a destroy: the Services of type LoadBalancer are deleted so that the
// cloud-controller-manager deletes their load balancers (which are not in
// Terraform state and would keep the network in use). It records those
// Services and the CSI volumes first, for the sweep. Best effort: a cluster
// that no longer answers is left to the sweep.
func beforeDestroy(t *testing.T, kc kubernetes.Interface, s *hcloudSweep) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s.mu.Lock()
	if pvs, err := kc.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("before destroy: listing PersistentVolumes: %v", err)
	} else {
		for _, pv := range pvs.Items {
			if csi := pv.Spec.CSI; csi != nil && csi.Driver == "csi.hetzner.cloud" {
				if id, err := strconv.ParseInt(csi.VolumeHandle, 10, 64); err == nil {
					s.volumeIDs[id] = true
				}
			}
		}
	}
	var lbServices []corev1.Service
	if svcs, err := kc.CoreV1().Services("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Logf("before destroy: listing Services: %v", err)
	} else {
		for _, svc := range svcs.Items {
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				s.serviceUIDs[string(svc.UID)] = true
				lbServices = append(lbServices, svc)
			}
		}
	}
	s.mu.Unlock()
	if len(lbServices) == 0 {
		return
	}
	for _, svc := range lbServices {
		t.Logf("before destroy: deleting Service %s/%s (type LoadBalancer)", svc.Namespace, svc.Name)
		if err := kc.CoreV1().Services(svc.Namespace).Delete(ctx, svc.Name, metav1.DeleteOptions{}); err != nil {
			t.Logf("before destroy: %v", err)
		}
	}
	if _, err := waitFor(t, ctx, "cloud-controller-manager deletes the Services' load balancers", 5*time.Minute, 15*time.Second, func() (string, error) {
		lbs, err := s.ccmLoadBalancers(ctx)
		if err != nil {
			return "", err
		}
		if len(lbs) > 0 {
			return "", fmt.Errorf("%d left", len(lbs))
		}
		return "", nil
	}); err != nil {
		t.Logf("before destroy: %v (the sweep deletes them)", err)
	}
}

// ccmLoadBalancers are the load balancers the cloud-controller-manager
// created for this cluster: labelled with one of its Services' UIDs, or (when
// the Services could not be read) carrying the Traefik Service's name and
// created during this run — the pre-flight made sure none existed before.
func (s *hcloudSweep) ccmLoadBalancers(ctx context.Context) ([]*hcloud.LoadBalancer, error) {
	lbs, err := s.hc.LoadBalancer.AllWithOpts(ctx, hcloud.LoadBalancerListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "hcloud-ccm/service-uid"}})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*hcloud.LoadBalancer
	for _, lb := range lbs {
		if s.serviceUIDs[lb.Labels["hcloud-ccm/service-uid"]] || (s.lbName != "" && lb.Name == s.lbName && lb.Created.After(s.start)) {
			out = append(out, lb)
		}
	}
	return out, nil
}

type hcloudLeftover struct {
	what string // "server e2e-1a2b3c-cp-1 (id 42)"
	del  func(ctx context.Context) error
}

// run lists what is left, deletes it (in dependency order, with retries) and
// fails the test for everything the destroy should have removed. Volumes the
// CSI driver kept (StorageClass hcloud-volumes has reclaimPolicy Retain, by
// design) are deleted and reported without failing.
func (s *hcloudSweep) run(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var leaks, retained []hcloudLeftover
	list := func(kind string, err error) bool {
		if err != nil {
			t.Errorf("leak sweep: listing %s: %v", kind, err)
			return false
		}
		return true
	}
	wait := func(ctx context.Context, a *hcloud.Action) error {
		if a == nil {
			return nil
		}
		return s.hc.Action.WaitFor(ctx, a)
	}
	sel := hcloud.ListOpts{LabelSelector: "cluster=" + s.cluster}

	// Servers first: they hold primary IPs, volumes, network and firewall attachments.
	if l, err := s.hc.Server.AllWithOpts(ctx, hcloud.ServerListOpts{ListOpts: sel}); list("servers", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("server %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				r, _, err := s.hc.Server.DeleteWithResult(ctx, x)
				if err != nil {
					return err
				}
				return wait(ctx, r.Action)
			}})
		}
	}
	lbs, err := s.hc.LoadBalancer.AllWithOpts(ctx, hcloud.LoadBalancerListOpts{ListOpts: sel})
	if list("load balancers", err) {
		ccm, err := s.ccmLoadBalancers(ctx)
		if list("load balancers of the cloud-controller-manager", err) {
			for _, x := range ccm {
				if !slices.ContainsFunc(lbs, func(y *hcloud.LoadBalancer) bool { return y.ID == x.ID }) {
					lbs = append(lbs, x)
				}
			}
		}
		for _, x := range lbs {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("load balancer %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				_, _, err := s.hc.LoadBalancer.DeleteWithResult(ctx, x)
				return err
			}})
		}
	}
	deleteVolume := func(x *hcloud.Volume) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if x.Server != nil {
				a, _, err := s.hc.Volume.Detach(ctx, x)
				if err != nil {
					return err
				}
				if err := wait(ctx, a); err != nil {
					return err
				}
			}
			_, err := s.hc.Volume.Delete(ctx, x)
			return err
		}
	}
	s.mu.Lock()
	var volumeIDs []int64
	for id := range s.volumeIDs {
		volumeIDs = append(volumeIDs, id)
	}
	s.mu.Unlock()
	for _, id := range volumeIDs {
		x, _, err := s.hc.Volume.GetByID(ctx, id)
		if !list("volumes of the CSI driver", err) || x == nil {
			continue
		}
		retained = append(retained, hcloudLeftover{fmt.Sprintf("volume %s (id %d)", x.Name, x.ID), deleteVolume(x)})
	}
	if l, err := s.hc.PrimaryIP.AllWithOpts(ctx, hcloud.PrimaryIPListOpts{ListOpts: sel}); list("primary IPs", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("primary IP %s %s (id %d)", x.Name, x.IP, x.ID), func(ctx context.Context) error {
				if x.AssigneeID != 0 {
					a, _, err := s.hc.PrimaryIP.Unassign(ctx, x.ID)
					if err != nil {
						return err
					}
					if err := wait(ctx, a); err != nil {
						return err
					}
				}
				_, err := s.hc.PrimaryIP.Delete(ctx, x)
				return err
			}})
		}
	}
	if l, err := s.hc.Firewall.AllWithOpts(ctx, hcloud.FirewallListOpts{ListOpts: sel}); list("firewalls", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("firewall %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				fw, _, err := s.hc.Firewall.GetByID(ctx, x.ID)
				if err != nil || fw == nil {
					return err
				}
				if len(fw.AppliedTo) > 0 {
					var res []hcloud.FirewallResource
					for _, r := range fw.AppliedTo {
						res = append(res, hcloud.FirewallResource{Type: r.Type, Server: r.Server, LabelSelector: r.LabelSelector})
					}
					actions, _, err := s.hc.Firewall.RemoveResources(ctx, fw, res)
					if err != nil {
						return err
					}
					if err := s.hc.Action.WaitFor(ctx, actions...); err != nil {
						return err
					}
				}
				_, err = s.hc.Firewall.Delete(ctx, fw)
				return err
			}})
		}
	}
	if l, err := s.hc.PlacementGroup.AllWithOpts(ctx, hcloud.PlacementGroupListOpts{ListOpts: sel}); list("placement groups", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("placement group %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				_, err := s.hc.PlacementGroup.Delete(ctx, x)
				return err
			}})
		}
	}
	if l, err := s.hc.Network.AllWithOpts(ctx, hcloud.NetworkListOpts{ListOpts: sel}); list("networks", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("network %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				_, err := s.hc.Network.Delete(ctx, x)
				return err
			}})
		}
	}
	if l, err := s.hc.SSHKey.AllWithOpts(ctx, hcloud.SSHKeyListOpts{ListOpts: sel}); list("ssh keys", err) {
		for _, x := range l {
			leaks = append(leaks, hcloudLeftover{fmt.Sprintf("ssh key %s (id %d)", x.Name, x.ID), func(ctx context.Context) error {
				_, err := s.hc.SSHKey.Delete(ctx, x)
				return err
			}})
		}
	}

	// Delete in the order listed (dependencies first), each with retries:
	// Hetzner answers "in use" until a detach or a server deletion settles.
	var failed []string
	remove := func(l []hcloudLeftover) []string {
		var names []string
		for _, x := range l {
			names = append(names, x.what)
			if _, err := retry.DoWithRetryContextE(t, ctx, "leak sweep: delete "+x.what, 8, 15*time.Second, func() (string, error) {
				return "", x.del(ctx)
			}); err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", x.what, err))
			}
		}
		return names
	}
	// Servers go before retained volumes can be detached, so leaks first.
	if names := remove(leaks); len(names) > 0 {
		t.Errorf("leak sweep: %d Hetzner resources of cluster %s survived the destroy (deleted now): %s",
			len(names), s.cluster, strings.Join(names, ", "))
	}
	if names := remove(retained); len(names) > 0 {
		t.Logf("leak sweep: deleted %d volumes the CSI driver kept after their claims went (StorageClass hcloud-volumes, reclaimPolicy Retain): %s",
			len(names), strings.Join(names, ", "))
	}
	if len(failed) > 0 {
		t.Errorf("leak sweep: could not delete, remove by hand (hcloud CLI or console, label cluster=%s): %s",
			s.cluster, strings.Join(failed, "; "))
	}
	if len(leaks) == 0 && len(failed) == 0 {
		t.Logf("leak sweep: nothing of cluster %s left in the project", s.cluster)
	}
}

// TestPublicIPv4 keeps the choice of the ingress address honest without a
// cluster: the cloud-controller-manager also reports private and IPv6
// addresses.
func TestPublicIPv4(t *testing.T) {
	svc := &corev1.Service{Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{
		{IP: "10.0.1.5"}, {IP: "2a01:4f8:c17::1"}, {Hostname: "lb.example.com"}, {IP: "203.0.113.7"},
	}}}}
	if got := publicIPv4(svc); got != "203.0.113.7" {
		t.Errorf("publicIPv4 = %q, want 203.0.113.7", got)
	}
	if got := publicIPv4(&corev1.Service{}); got != "" {
		t.Errorf("publicIPv4 of a Service without status = %q, want empty", got)
	}
}
