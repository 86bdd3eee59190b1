package runner

import (
	"errors"
	"testing"
)

// Each file is hashed once, its error too.
func TestFileSumsHashEachFileOnce(t *testing.T) {
	calls := map[string]int{}
	s := fileSums{hash: func(p string) (string, error) {
		calls[p]++
		if p == "missing.deb" {
			return "", errors.New("no such file")
		}
		return "sum-of-" + p, nil
	}}
	for range 64 {
		for _, p := range []string{"x.deb", "y.deb", "missing.deb"} {
			sum, err := s.of(p)
			if p == "missing.deb" && (err == nil || sum != "") || p != "missing.deb" && (err != nil || sum != "sum-of-"+p) {
				t.Fatalf("of(%s) = %q, %v", p, sum, err)
			}
		}
	}
	for p, n := range calls {
		if n != 1 {
			t.Errorf("%s hashed %d times, want once", p, n)
		}
	}
}
