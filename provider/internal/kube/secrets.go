package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// FieldManager is the server-side apply field manager of what the provider
// applies (the same name platform_flux_instance applies with).
const FieldManager = "terraform-provider-platform"

// ManagedByLabel marks the objects the provider creates.
const ManagedByLabel = "app.kubernetes.io/managed-by"

// Secret is a Secret as the provider manages it: only these fields are
// applied, so server-side apply leaves every other field (and the keys and
// labels other managers set) alone.
type Secret struct {
	Namespace, Name, Type string
	Data                  map[string]string
	Labels                map[string]string
}

func (s Secret) String() string { return "Secret " + s.Namespace + "/" + s.Name }

// ApplySecret server-side applies s with FieldManager and Force, so it takes
// over fields another manager set (drift is corrected). Keys and labels it
// applied before and s no longer has are removed. Errors name the Secret,
// never its data.
func ApplySecret(ctx context.Context, c kubernetes.Interface, s Secret) error {
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		data[k] = []byte(v)
	}
	ac := corev1ac.Secret(s.Name, s.Namespace).WithType(corev1.SecretType(s.Type)).WithData(data)
	if len(s.Labels) > 0 {
		ac = ac.WithLabels(s.Labels)
	}
	_, err := c.CoreV1().Secrets(s.Namespace).Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err == nil {
		return nil
	}
	if apierrors.IsNotFound(err) {
		// Applying into a namespace that does not exist.
		return fmt.Errorf("applying %s: namespace %q does not exist (only the Secret is created; create the namespace first): %w", s, s.Namespace, err)
	}
	return fmt.Errorf("applying %s: %w", s, err)
}

// GetSecret returns the Secret, nil when it does not exist.
func GetSecret(ctx context.Context, c kubernetes.Interface, namespace, name string) (*corev1.Secret, error) {
	s, err := c.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	return s, nil
}

// DeleteSecret deletes the Secret; a missing one is not an error.
func DeleteSecret(ctx context.Context, c kubernetes.Interface, namespace, name string) error {
	err := c.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting Secret %s/%s: %w", namespace, name, err)
	}
	return nil
}
