package runner

// fileSums hashes each local package file once per preflight: every node
// of a fleet wants the same two or three files, and hashing them per node
// was a fifth of the controller's CPU at 64 nodes.
type fileSums struct {
	hash func(path string) (string, error) // filehash.SHA256
	done map[string]fileSum
}

type fileSum struct {
	sum string
	err error
}

// of is the SHA-256 of the file at path, hashed on first use.
func (s *fileSums) of(path string) (string, error) {
	if r, ok := s.done[path]; ok {
		return r.sum, r.err
	}
	sum, err := s.hash(path)
	if s.done == nil {
		s.done = map[string]fileSum{}
	}
	s.done[path] = fileSum{sum, err}
	return sum, err
}
