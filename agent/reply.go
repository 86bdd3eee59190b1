package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// What leaves the agent: output cut to a tail, secrets redacted from the
// reply.

// tailOf returns the last TailBytes of s, starting on a rune boundary, as
// valid UTF-8.
func tailOf(s string) string {
	if len(s) > agentproto.TailBytes {
		s = s[len(s)-agentproto.TailBytes:]
		for len(s) > 0 && !utf8.RuneStart(s[0]) {
			s = s[1:]
		}
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// redact replaces every secret in s by agentproto.Redacted. secrets must be
// sorted longest first and hold no empty string.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec, agentproto.Redacted)
	}
	return s
}

// encodeReply marshals rep and replaces every secret in it, in the form the
// JSON encoder gives it inside a string, by agentproto.Redacted.
func encodeReply(rep *agentproto.Reply, secrets []string) ([]byte, error) {
	var clean []string
	for _, s := range secrets {
		if s != "" {
			clean = append(clean, s)
		}
	}
	sort.Slice(clean, func(i, j int) bool { return len(clean[i]) > len(clean[j]) })
	// Strings first (tails, error message), so a secret split by JSON
	// escaping differently is still caught.
	rep.StdoutTail = redact(rep.StdoutTail, clean)
	rep.StderrTail = redact(rep.StderrTail, clean)
	if rep.Error != nil {
		e := *rep.Error
		e.Message = redact(e.Message, clean)
		rep.Error = &e
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, fmt.Errorf("encode reply: %w", err)
	}
	for _, s := range clean {
		enc, err := json.Marshal(s)
		if err != nil || len(enc) < 3 {
			continue
		}
		inner := enc[1 : len(enc)-1] // the escaped form, without the quotes
		b = bytes.ReplaceAll(b, inner, []byte(agentproto.Redacted))
		// A result embedding JSON text (e.g. a nested reply) escapes twice.
		enc2, _ := json.Marshal(string(inner))
		if len(enc2) > 2 && !bytes.Equal(enc2[1:len(enc2)-1], inner) {
			b = bytes.ReplaceAll(b, enc2[1:len(enc2)-1], []byte(agentproto.Redacted))
		}
	}
	return b, nil
}
