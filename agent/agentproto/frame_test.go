package agentproto

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := []Frame{{Kind: FrameHello, Payload: []byte(`{"a":1}`)}, {Kind: FrameRequest, ID: 1 << 31, Payload: []byte("x")}, {Kind: FrameCancel, ID: 3}}
	for _, f := range in {
		if err := WriteFrame(&buf, f); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range in {
		got, err := ReadFrame(&buf, 16)
		if err != nil || got.Kind != want.Kind || got.ID != want.ID || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("read %+v, %v; want %+v", got, err, want)
		}
	}
	if _, err := ReadFrame(&buf, 16); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}

func TestFrameRefused(t *testing.T) {
	var buf bytes.Buffer
	WriteFrame(&buf, Frame{Kind: FrameReply, ID: 9, Payload: make([]byte, 17)})
	_, err := ReadFrame(&buf, 16)
	var big *FrameTooLargeError
	if !errors.As(err, &big) || big.ID != 9 || big.Size != 17 {
		t.Fatalf("oversized frame: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte("Segmentation fault\n")), 16); err == nil {
		t.Fatal("garbage read as a frame")
	}
	buf.Reset()
	WriteFrame(&buf, Frame{Kind: FrameReply, ID: 1, Payload: []byte("abcdef")})
	if _, err := ReadFrame(bytes.NewReader(buf.Bytes()[:12]), 16); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut frame: %v, want io.ErrUnexpectedEOF", err)
	}
}
