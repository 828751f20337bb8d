package hcloudx

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
)

// DefaultEndpoint is Hetzner Cloud's public API.
const DefaultEndpoint = "https://api.hetzner.cloud/v1"

// Config is what the provider block configures.
type Config struct {
	Token    string
	Endpoint string
	// PollInterval is the first wait between action polls; later polls back
	// off exponentially up to PollMaxInterval.
	PollInterval    time.Duration
	PollMaxInterval time.Duration
	Retry           RetryPolicy
	Version         string
	Log             Logger
}

// NewClient builds an hcloud-go client whose HTTP transport does the
// retrying (hcloud-go's own retries are off so attempts are not multiplied).
// Each attempt is bounded by Retry.AttemptTimeout; the chain as a whole only
// by the caller's context, so a wait for a rate-limit reset of up to
// Retry.MaxRateLimitWait is never cut short.
func NewClient(c Config) *hcloud.Client {
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if c.PollMaxInterval < c.PollInterval {
		c.PollMaxInterval = c.PollInterval
	}
	return hcloud.NewClient(
		hcloud.WithToken(c.Token),
		hcloud.WithEndpoint(endpoint),
		hcloud.WithApplication("terraform-provider-platform", c.Version),
		hcloud.WithHTTPClient(c.httpClient()),
		hcloud.WithRetryOpts(hcloud.RetryOpts{MaxRetries: 0}),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ExponentialBackoffWithOpts(hcloud.ExponentialBackoffOpts{
			Base: c.PollInterval, Multiplier: 1.5, Cap: c.PollMaxInterval, Jitter: true,
		})}),
	)
}

// httpClient has no Timeout of its own: http.Client.Timeout would bound the
// whole retry chain, waits included.
func (c Config) httpClient() *http.Client {
	return &http.Client{Transport: NewTransport(nil, c.Retry, c.Log)}
}

// WaitActions waits for actions to finish, polling with the client's backoff,
// and returns the first action error with its command for context.
func WaitActions(ctx context.Context, c *hcloud.Client, actions ...*hcloud.Action) error {
	var live []*hcloud.Action
	for _, a := range actions {
		if a != nil {
			live = append(live, a)
		}
	}
	if len(live) == 0 {
		return nil
	}
	if err := c.Action.WaitFor(ctx, live...); err != nil {
		return fmt.Errorf("waiting for hcloud action: %w", err)
	}
	return nil
}
