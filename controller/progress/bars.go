package progress

import (
	"fmt"
	"io"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// Bars draws one progress bar per phase on a terminal (stderr), counting
// host results; findings and failures are printed as lines above it.
// Phases of the downtime window overlap: the bar shows the latest phase
// begun and counts its hosts only.
type Bars struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar
	phase string
}

// NewBars returns a bar sink writing to w, which must be a terminal.
func NewBars(w io.Writer) *Bars { return &Bars{w: w} }

// Emit updates the bars.
func (b *Bars) Emit(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e.Type {
	case PhaseStart:
		b.finish()
		total := int64(e.Total)
		if total <= 0 {
			total = -1 // spinner
		}
		b.phase = e.Phase
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("%-16s", e.Phase)),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100_000_000),
			progressbar.OptionClearOnFinish(),
		)
	case HostResult:
		if b.bar != nil && e.Phase == b.phase {
			_ = b.bar.Add(1)
		}
		if e.Status == "failed" {
			b.line(e)
		}
	case PhaseEnd:
		if e.Phase == b.phase {
			b.finish()
		}
		b.line(e)
	case Finding, Message, RunStart, RunEnd:
		b.line(e)
	}
}

func (b *Bars) line(e Event) {
	if b.bar != nil {
		_ = b.bar.Clear()
	}
	if s := FormatLine(e); s != "" {
		fmt.Fprintln(b.w, s)
	}
	if b.bar != nil {
		_ = b.bar.RenderBlank()
	}
}

func (b *Bars) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
}

// Close removes any bar left on screen.
func (b *Bars) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finish()
}
