package sshremote

import (
	"fmt"
	"io"
	"sync"

	"github.com/kongctl/kongctl/internal/boundedio"
)

const (
	// MaxOutputBytes bounds each output stream Run collects for a command
	// (RunRequest.MaxOutput overrides it) and the files ReadFile reads. A
	// host sending more fails the call with an *OutputLimitError; its
	// session is closed as soon as the limit is passed, so the bytes
	// never pile up in memory.
	MaxOutputBytes = 16 << 20
	// StderrTailBytes is how much of a command's stderr Run keeps: the
	// last bytes, which say why it failed.
	StderrTailBytes = 64 << 10
)

// OutputLimitError is a command (or file) that sent more than Limit bytes
// on Stream ("stdout", "stderr" or "file"). Run closed its session when
// the limit was passed.
type OutputLimitError struct {
	Stream string
	Limit  int64
}

func (e *OutputLimitError) Error() string {
	return fmt.Sprintf("%s larger than %s (stopped reading, session closed)", e.Stream, boundedio.Size(e.Limit))
}

// closeOnError passes writes to w; the first failed write calls stop, so
// that a caller's writer that fails (a full disk) ends the session
// instead of leaving the remote command blocked on a full window.
type closeOnError struct {
	w    io.Writer
	stop func()
	once sync.Once
	err  error // the writer's first error, read after the session ended
}

func (c *closeOnError) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		c.once.Do(func() {
			c.err = err
			c.stop()
		})
	}
	return n, err
}

// failed reports the first error of the caller's writers: the session
// killed for it may still end with a clean exit status, so Run checks
// this rather than the session's own result.
func failed(ws ...*closeOnError) error {
	for _, w := range ws {
		if w != nil && w.err != nil {
			return w.err
		}
	}
	return nil
}
