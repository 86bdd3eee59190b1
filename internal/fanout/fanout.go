// Package fanout is kongctl's one bounded fan-out: run a function for
// every item of a list, a limited number at once, and keep each item's
// error.
package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrNotStarted marks an item whose function never ran because ctx ended
// while it waited for a slot; the error also wraps ctx's error.
var ErrNotStarted = errors.New("not started")

// Each calls fn for every item, at most limit at once (limit <= 0: all at
// once), and returns fn's errors in the items' order (nil where fn
// succeeded). One item's failure does not cancel the others; only ctx
// does: an item not yet started when ctx ends fails with ErrNotStarted and
// ctx's error, without fn being called. Each returns when every started fn has
// returned.
func Each[T any](ctx context.Context, items []T, limit int, fn func(ctx context.Context, item T) error) []error {
	if limit <= 0 || limit > len(items) {
		limit = len(items)
	}
	errs := make([]error, len(items))
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("%w: %w", ErrNotStarted, ctx.Err())
				return
			}
			defer func() { <-sem }()
			// A slot and the end of ctx can come together: ctx wins.
			if err := ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("%w: %w", ErrNotStarted, err)
				return
			}
			errs[i] = fn(ctx, it)
		})
	}
	wg.Wait()
	return errs
}
