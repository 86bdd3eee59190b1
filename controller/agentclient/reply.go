package agentclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/agent/agentproto"
)

// checkReply checks a reply, never trusting it: another protocol or
// another op's reply is refused, and the request's secrets an agent
// echoes are scrubbed here too.
func checkReply(host string, req *agentproto.Request, rep *agentproto.Reply) error {
	if rep.ProtocolVersion != agentproto.ProtocolVersion {
		return fmt.Errorf("host %s: agent %s: reply speaks protocol %d, kongctl speaks %d", host, req.Op, rep.ProtocolVersion, agentproto.ProtocolVersion)
	}
	if rep.Op != "" && rep.Op != req.Op {
		return fmt.Errorf("host %s: agent %s: reply is for operation %q", host, req.Op, clipString(string(rep.Op), 64))
	}
	scrubReply(rep, req.Redact)
	return nil
}

// scrubReply replaces the request's secrets wherever a reply could carry
// them to a log or report.
func scrubReply(rep *agentproto.Reply, secrets []string) {
	for _, sec := range secrets {
		if len(sec) < 3 {
			continue
		}
		rep.StdoutTail = strings.ReplaceAll(rep.StdoutTail, sec, agentproto.Redacted)
		rep.StderrTail = strings.ReplaceAll(rep.StderrTail, sec, agentproto.Redacted)
		if rep.Error != nil {
			rep.Error.Message = strings.ReplaceAll(rep.Error.Message, sec, agentproto.Redacted)
		}
		if bytes.Contains(rep.Result, []byte(sec)) {
			if enc, err := json.Marshal(sec); err == nil {
				inner := enc[1 : len(enc)-1]
				rep.Result = bytes.ReplaceAll(rep.Result, inner, []byte(agentproto.Redacted))
			}
		}
	}
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func tailString(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
