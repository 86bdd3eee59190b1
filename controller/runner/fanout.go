package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/kongctl/kongctl/internal/fanout"
)

// forEach runs fn for every host with at most limit at once. One host's
// failure does not cancel the others; errors are joined.
func (e *engine) forEach(ctx context.Context, hosts []string, limit int, fn func(ctx context.Context, host string) error) error {
	limit = e.spec.limit(limit)
	if limit <= 0 {
		limit = 16
	}
	errs := fanout.Each(ctx, hosts, limit, fn)
	for i, err := range errs {
		if errors.Is(err, fanout.ErrNotStarted) {
			errs[i] = fmt.Errorf("%s: %w", hosts[i], err)
		}
	}
	return errors.Join(errs...)
}
