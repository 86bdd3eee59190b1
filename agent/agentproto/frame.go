package agentproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A session (`kongctl-agent serve`) carries every request of a run to one
// node over one SSH session: the agent's stdin and stdout carry frames,
// each a 9-byte header (kind, request id, payload length, big-endian)
// and its payload. The agent first sends a FrameHello whose payload is
// the Reply to OpHello (its protocol version, its SHA-256); then each
// FrameRequest (a Request as `rpc` reads it) is answered by a FrameReply
// of the same id (the Reply as `rpc` writes it), in any order: requests
// run concurrently, so a slow step never holds up a health probe. A
// FrameCancel (no payload) cancels the request of its id, which is still
// answered. Closing the agent's stdin cancels what is in flight and ends
// the agent. Secrets travel only inside request payloads.

// FrameKind is what a frame carries.
type FrameKind byte

// The frame kinds.
const (
	FrameHello   FrameKind = 'H' // agent → controller, first: the Reply to OpHello
	FrameRequest FrameKind = 'Q' // controller → agent: a Request
	FrameReply   FrameKind = 'R' // agent → controller: the Reply to the request of the same id
	FrameCancel  FrameKind = 'C' // controller → agent: cancel the request of this id
)

// FrameHeaderBytes is the size of a frame's header.
const FrameHeaderBytes = 9

// Frame is one message of a session.
type Frame struct {
	Kind    FrameKind
	ID      uint32
	Payload []byte
}

// FrameTooLargeError is a frame whose header announces more than the
// reader accepts; its payload was not read (the stream cannot be resumed).
type FrameTooLargeError struct {
	Kind  FrameKind
	ID    uint32
	Size  uint32
	Limit int
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("frame %c %d of %d bytes, over the %d-byte limit", e.Kind, e.ID, e.Size, e.Limit)
}

// WriteFrame writes f to w in one Write call (a writer shared by
// goroutines must still serialise calls).
func WriteFrame(w io.Writer, f Frame) error {
	if uint64(len(f.Payload)) > 1<<32-1 {
		return fmt.Errorf("frame %c %d: payload of %d bytes", f.Kind, f.ID, len(f.Payload))
	}
	b := make([]byte, FrameHeaderBytes, FrameHeaderBytes+len(f.Payload))
	b[0] = byte(f.Kind)
	binary.BigEndian.PutUint32(b[1:5], f.ID)
	binary.BigEndian.PutUint32(b[5:9], uint32(len(f.Payload)))
	_, err := w.Write(append(b, f.Payload...))
	return err
}

// ReadFrame reads one frame from r, refusing (with *FrameTooLargeError,
// before reading it) a payload over limit bytes and an unknown kind. At
// the end of the stream between frames it returns io.EOF; inside a frame,
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, limit int) (Frame, error) {
	var h [FrameHeaderBytes]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Kind: FrameKind(h[0]), ID: binary.BigEndian.Uint32(h[1:5])}
	switch f.Kind {
	case FrameHello, FrameRequest, FrameReply, FrameCancel:
	default:
		return Frame{}, fmt.Errorf("not a frame (kind byte %#x)", h[0])
	}
	n := binary.BigEndian.Uint32(h[5:9])
	if uint64(n) > uint64(limit) {
		return f, &FrameTooLargeError{Kind: f.Kind, ID: f.ID, Size: n, Limit: limit}
	}
	f.Payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return f, nil
}
