package k3s

import (
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kubeconfig renders an admin kubeconfig for the cluster from its PKI and API
// endpoint (an IP or DNS name; the port is k3s' 6443).
func Kubeconfig(clusterName, endpoint string, p *PKI) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{
		Server:                   ServerURL(endpoint),
		CertificateAuthorityData: []byte(p.ServerCA.CertPEM),
	}
	user := clusterName + "-admin"
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: []byte(p.Admin.CertPEM),
		ClientKeyData:         []byte(p.Admin.KeyPEM),
	}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = clusterName
	b, err := clientcmd.Write(*cfg)
	return string(b), err
}
