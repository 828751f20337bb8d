package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
)

func TestApplySecretOwnsOnlyItsKeys(t *testing.T) {
	ctx := context.Background()
	c := fake.NewClientset()
	s := Secret{Namespace: "kube-system", Name: "hcloud", Type: "Opaque",
		Data: map[string]string{"token": "t1", "network": "42"}, Labels: map[string]string{ManagedByLabel: FieldManager}}
	if err := ApplySecret(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	got, err := GetSecret(ctx, c, "kube-system", "hcloud")
	if err != nil || got == nil {
		t.Fatalf("GetSecret = %v, %v", got, err)
	}
	if string(got.Data["token"]) != "t1" || string(got.Data["network"]) != "42" || got.Type != corev1.SecretTypeOpaque {
		t.Fatalf("applied Secret %v type %s", got.Data, got.Type)
	}
	if got.Labels[ManagedByLabel] != FieldManager {
		t.Errorf("labels %v", got.Labels)
	}

	// Another manager adds a key; our next apply drops "network" and keeps theirs.
	got.Data["foreign"] = []byte("x")
	if _, err := c.CoreV1().Secrets("kube-system").Update(ctx, got, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	s.Data = map[string]string{"token": "t2"}
	if err := ApplySecret(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	got, _ = GetSecret(ctx, c, "kube-system", "hcloud")
	if string(got.Data["token"]) != "t2" || got.Data["network"] != nil || string(got.Data["foreign"]) != "x" {
		t.Errorf("after the second apply: %v (want token=t2, no network, foreign kept)", got.Data)
	}

	if err := DeleteSecret(ctx, c, "kube-system", "hcloud"); err != nil {
		t.Fatal(err)
	}
	if got, err := GetSecret(ctx, c, "kube-system", "hcloud"); got != nil || err != nil {
		t.Errorf("after delete: %v, %v", got, err)
	}
	if err := DeleteSecret(ctx, c, "kube-system", "hcloud"); err != nil {
		t.Errorf("deleting a missing Secret: %v", err)
	}
}

// refused is what dialling a closed port returns.
var refused error = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

func TestTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	for _, tc := range []struct {
		err       error
		transient bool
	}{
		{nil, false},
		{fmt.Errorf("get: %w", refused), true},
		{errors.New("Get \"https://127.0.0.1:6443/api\": EOF"), true},
		{apierrors.NewServiceUnavailable("starting"), true},
		{apierrors.NewTooManyRequests("slow down", 1), true},
		{apierrors.NewInternalError(errors.New("etcd")), true},
		{apierrors.NewNotFound(gr, "hcloud"), false},
		{apierrors.NewForbidden(gr, "hcloud", errors.New("rbac")), false},
		{apierrors.NewConflict(gr, "hcloud", errors.New("conflict")), false},
	} {
		if got := Transient(tc.err); got != tc.transient {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.transient)
		}
	}
}

func TestRetryTransient(t *testing.T) {
	p := Poller{Interval: time.Millisecond, Max: 5 * time.Millisecond}
	calls := 0
	err := RetryTransient(context.Background(), p, func(context.Context) error {
		calls++
		if calls < 3 {
			return apierrors.NewServiceUnavailable("starting")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("err %v after %d calls, want success after 3", err, calls)
	}

	calls = 0
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "x", errors.New("rbac"))
	if err := RetryTransient(context.Background(), p, func(context.Context) error { calls++; return forbidden }); !errors.Is(err, forbidden) || calls != 1 {
		t.Errorf("a permanent error: %v after %d calls, want it at once", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err = RetryTransient(ctx, p, func(context.Context) error { return refused })
	if !Unreachable(err) {
		t.Errorf("at the deadline the last error is returned, got %v", err)
	}

	// The attempt that runs out of time fails on the deadline itself (here
	// client-go's rate limiter refusing to wait past it): the cluster's last
	// answer is what is returned.
	calls = 0
	internal := apierrors.NewInternalError(errors.New("injected 500"))
	err = RetryTransient(context.Background(), p, func(context.Context) error {
		calls++
		if calls < 3 {
			return internal
		}
		return errors.New("client rate limiter Wait returned an error: rate: Wait(n=1) would exceed context deadline")
	})
	if !errors.Is(err, internal) {
		t.Errorf("out of time after 500s: %v, want the 500", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	calls = 0
	err = RetryTransient(ctx2, p, func(ctx context.Context) error {
		calls++
		if calls == 2 {
			cancel2()
			return ctx.Err()
		}
		return internal
	})
	if !errors.Is(err, internal) {
		t.Errorf("cancelled after a 500: %v, want the 500", err)
	}
}
