package sandbox

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// kubeconfigFor mints a client certificate (CN=user, O=groups) from the
// cluster's client CA and renders a kubeconfig for url trusting the server
// CA, the way k3s writes one per control-plane component.
func kubeconfigFor(url string, pki *ClusterPKI, user string, groups []string) ([]byte, error) {
	crt, key, err := pki.ClientCA.Issue(CertSpec{CommonName: user, Organization: groups, Client: true})
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: local
  context: {cluster: local, user: %q}
current-context: local
`, url, b64(pki.ServerCA.CertPEM), strconv.Quote(user), b64(crt), b64(key), user), nil
}

// startControllers (re)starts kube-controller-manager and kube-scheduler
// against the apiserver at cp.URL(), as k3s runs them next to its
// apiserver: their own client certificates (system:kube-controller-manager,
// system:kube-scheduler), no leader election, no serving port, controllers
// using per-controller service accounts.
func (cp *ControlPlane) startControllers() error {
	cp.stopControllers()
	url := cp.URL()
	kcmConf, err := kubeconfigFor(url, cp.PKI, "system:kube-controller-manager", nil)
	if err != nil {
		return err
	}
	schedConf, err := kubeconfigFor(url, cp.PKI, "system:kube-scheduler", nil)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(cp.tls("controller-manager.kubeconfig"), kcmConf, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(cp.tls("scheduler.kubeconfig"), schedConf, 0o600); err != nil {
		return err
	}
	grace := cp.Opts.NodeMonitorGrace
	period := min(grace/4, 5*time.Second)
	kcmArgs := []string{
		"--kubeconfig=" + cp.tls("controller-manager.kubeconfig"),
		"--authentication-kubeconfig=" + cp.tls("controller-manager.kubeconfig"),
		"--authorization-kubeconfig=" + cp.tls("controller-manager.kubeconfig"),
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + cp.tls("service.key"),
		"--root-ca-file=" + cp.tls("server-ca.crt"),
		"--allocate-node-cidrs=true",
		"--cluster-cidr=" + cp.ClusterCIDR,
		"--node-cidr-mask-size=24",
		"--service-cluster-ip-range=" + cp.ServiceCIDR,
		"--configure-cloud-routes=false",
		// As k3s: every default controller plus the token cleaner, without
		// the cloud ones (k3s' own cloud controller or an external one
		// initialises nodes and load balancers).
		"--controllers=*,tokencleaner,-service,-route,-cloud-node-lifecycle",
		"--node-monitor-grace-period=" + grace.String(),
		"--node-monitor-period=" + period.String(),
		"--terminated-pod-gc-threshold=1000",
		"--profiling=false",
		"--v=0",
	}
	kcm, err := startProc("kube-controller-manager", filepath.Join(cp.Opts.BinDir, "kube-controller-manager"), kcmArgs,
		[]string{"GOMEMLIMIT=" + cp.Opts.ControllerManagerMemLimit}, filepath.Join(cp.Dir, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	cp.kcm = kcm
	schedArgs := []string{
		"--kubeconfig=" + cp.tls("scheduler.kubeconfig"),
		"--authentication-kubeconfig=" + cp.tls("scheduler.kubeconfig"),
		"--authorization-kubeconfig=" + cp.tls("scheduler.kubeconfig"),
		"--secure-port=0",
		"--leader-elect=false",
		"--profiling=false",
		"--v=0",
	}
	sched, err := startProc("kube-scheduler", filepath.Join(cp.Opts.BinDir, "kube-scheduler"), schedArgs,
		[]string{"GOMEMLIMIT=" + cp.Opts.SchedulerMemLimit}, filepath.Join(cp.Dir, "kube-scheduler.log"))
	if err != nil {
		cp.stopControllers()
		return err
	}
	cp.sched = sched
	return nil
}

func (cp *ControlPlane) stopControllers() {
	cp.kcm.stop(cp.Opts.StopGrace)
	cp.sched.stop(cp.Opts.StopGrace)
	cp.kcm, cp.sched = nil, nil
}
