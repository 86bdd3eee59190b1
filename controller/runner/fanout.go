package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// forEach runs fn for every host with at most limit at once. One host's
// failure does not cancel the others; errors are joined.
func (e *engine) forEach(ctx context.Context, hosts []string, limit int, fn func(ctx context.Context, host string) error) error {
	if limit <= 0 {
		limit = 16
	}
	sem := make(chan struct{}, limit)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("%s: %w", h, ctx.Err())
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(ctx, h)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
