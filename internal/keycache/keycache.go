// Package keycache is kongctl's one connection cache: one value per key
// (a host's connection), made on first use outside the lock so that a slow
// dial to one host does not hold up the others.
package keycache

import "sync"

// Get returns m[key], building it with build when it is missing. mu guards m
// and is not held while build runs. When two callers build the same key at
// once, the first value stored wins and discard receives the other.
func Get[K comparable, V any](mu *sync.Mutex, m map[K]V, key K, build func() (V, error), discard func(V)) (V, error) {
	mu.Lock()
	v, ok := m[key]
	mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		var zero V
		return zero, err
	}
	mu.Lock()
	defer mu.Unlock()
	if prev, ok := m[key]; ok {
		discard(v)
		return prev, nil
	}
	m[key] = v
	return v, nil
}
