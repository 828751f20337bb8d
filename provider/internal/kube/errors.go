package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Unreachable reports whether err means no connection to the API server
// could be made at all: refused, no route to the host or network, the name
// not found in DNS, or a timeout. Anything the server said — a failed TLS
// handshake (wrong CA, refused client certificate), 401, 403, any HTTP
// status — is not: a cluster that answers is there, and must not be treated
// as gone.
func Unreachable(err error) bool {
	if err == nil || TLSFailure(err) {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TLSFailure reports whether the TLS handshake with the API server failed:
// its certificate does not verify against the CA we trust, or it refused our
// client certificate (a TLS alert).
func TLSFailure(err error) bool {
	if err == nil {
		return false
	}
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		record   tls.RecordHeaderError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &record):
		return true
	case errors.As(err, &op) && op.Op == "remote error": // an alert the server sent
		return true
	}
	s := err.Error()
	return strings.Contains(s, "tls: ") || strings.Contains(s, "x509: ")
}

// dropped reports a connection that broke before the answer was complete.
func dropped(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	s := err.Error()
	return strings.HasSuffix(s, "EOF") || strings.Contains(s, "connection reset by peer")
}

// Transient reports whether a request may succeed when retried: the API is
// unreachable, dropped the connection, is overloaded or failed internally.
func Transient(err error) bool {
	if err == nil || TLSFailure(err) {
		return false
	}
	if Unreachable(err) || dropped(err) {
		return true
	}
	var status apierrors.APIStatus
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err) ||
		(errors.As(err, &status) && status.Status().Code >= 500)
}

// Retryable is what a node operation (cordon, eviction, Node deletion)
// retries: the server answered but was overloaded, failing or busy (429,
// 5xx, a dropped connection), or the object changed meanwhile (409). Not an
// unreachable server: whether that means "gone" is the caller's decision.
func Retryable(err error) bool {
	return err != nil && !Unreachable(err) && (Transient(err) || apierrors.IsConflict(err))
}

// Explain says in words what kind of failure err is, for error messages.
func Explain(err error) string {
	switch {
	case err == nil:
		return ""
	case TLSFailure(err):
		return "the Kubernetes API answered, but the TLS handshake failed (its certificate does not verify against the cluster CA " +
			"in the credentials, or it refused the client certificate): " + err.Error()
	case apierrors.IsUnauthorized(err):
		return "the Kubernetes API rejected the credentials (401 Unauthorized): " + err.Error()
	case apierrors.IsForbidden(err):
		return "the credentials are not allowed to do this (403 Forbidden): " + err.Error()
	case Unreachable(err):
		return "the Kubernetes API cannot be reached: " + err.Error()
	}
	return err.Error()
}

// RetryTransient calls fn until it succeeds, fails with a non-transient
// error, or ctx ends (then the last error is returned).
func RetryTransient(ctx context.Context, p Poller, fn func(context.Context) error) error {
	return retry(ctx, p, Transient, fn)
}

func retry(ctx context.Context, p Poller, again func(error) bool, fn func(context.Context) error) error {
	wait := p.Interval
	var last error // the last answer worth retrying
	for {
		err := fn(ctx)
		if err != nil && last != nil && contextEnded(ctx, err) {
			// Out of time: what the cluster kept answering says more than
			// the deadline does.
			return last
		}
		if err == nil || !again(err) {
			return err
		}
		last = err
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = p.next(wait)
	}
}

// contextEnded: err comes from ctx running out rather than from the
// cluster, including client-go's rate limiter refusing to wait past the
// deadline ("rate: Wait(n=1) would exceed context deadline", not a wrapped
// context error).
func contextEnded(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "would exceed context deadline")
}
