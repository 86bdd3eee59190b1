package agentclient

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kongctl/kongctl/internal/shellquote"
)

// An uploaded agent is put into place by the command that starts its
// first session: the shell decompresses the upload to a temp name,
// checks its size and SHA-256 there, renames it into place and only then
// execs it (`exec AGENT serve`). A file that fails the check is removed
// and never run, and the session ends before any greeting with
// installFailedExit and a line naming what the node holds; the controller
// turns that into an *UploadCheckError. Folding this into the session
// saves the SSH session a separate check took (issue 21: at most three
// per fresh node: the probe, the SFTP upload, the agent's session).

// installFailedExit is the exit status of a session whose install step
// refused the upload (not one an agent's serve returns).
const installFailedExit = 97

// installMarker starts the line the install step prints on stderr when
// it refuses the upload: "<marker> size S sha256 H" (S or H empty when
// the file could not be read).
const installMarker = "kongctl-agent-install:"

// UploadCheckError is an uploaded agent whose size or SHA-256 on the node
// is not the binary's: it was removed there and never run.
type UploadCheckError struct {
	Size     string // what the node holds ("" when it could not be read)
	SHA256   string
	WantSize int64
	Want     string
	Detail   string // the node's stderr, when the file could not be made
}

func (e *UploadCheckError) Error() string {
	switch {
	case e.Size == "" || e.SHA256 == "":
		return fmt.Sprintf("check uploaded agent: could not put it into place: %s", e.Detail)
	case e.Size != fmt.Sprint(e.WantSize):
		return fmt.Sprintf("check uploaded agent: size %s on the node, want %d", e.Size, e.WantSize)
	}
	return fmt.Sprintf("check uploaded agent: sha256 %s on the node, want %s", e.SHA256, e.Want)
}

// mismatch reports whether the node held a readable file of another
// size or hash (worth one more upload), not a failure to make it.
func (e *UploadCheckError) mismatch() bool { return e.Size != "" && e.SHA256 != "" }

// pendingInstall is an upload waiting for its first session to put it
// into place.
type pendingInstall struct {
	script string // the shell before `exec AGENT serve`; ends with "; "
	size   int64
	sum    string
}

// installScript is the shell that makes tmp from the upload (put), checks
// its size and SHA-256 and renames it to final; on any failure it removes
// tmp, prints the marker line on stderr and exits installFailedExit.
func installScript(put, tmp, final string, size int64, sum string) string {
	t, f := shellquote.Quote(tmp), shellquote.Quote(final)
	return fmt.Sprintf("umask 077; s=; h=; { %[1]s; } && s=$(stat -c %%s %[2]s) && h=$(sha256sum %[2]s) && h=${h%%%% *}"+
		" && [ \"$s\" = %[4]d ] && [ \"$h\" = %[5]s ] && mv -f %[2]s %[3]s"+
		" || { rm -f %[2]s; echo %[6]s size \"$s\" sha256 \"$h\" >&2; exit %[7]d; }; ",
		put, t, f, size, sum, installMarker, installFailedExit)
}

// installError is why a session whose install step ran ended before its
// greeting: an *UploadCheckError when the step refused the upload, else
// nil (the session's own error stands).
func (p *pendingInstall) installError(exitCode int, stderr []byte) error {
	if p == nil || exitCode != installFailedExit {
		return nil
	}
	text := string(stderr)
	i := strings.LastIndex(text, installMarker)
	if i < 0 {
		return nil
	}
	e := &UploadCheckError{WantSize: p.size, Want: p.sum}
	line, _, _ := strings.Cut(text[i+len(installMarker):], "\n")
	f := strings.Fields(line) // size S sha256 H, S and H possibly empty
	for j := 0; j+1 < len(f); j++ {
		switch {
		case f[j] == "size" && f[j+1] != "sha256":
			e.Size = f[j+1]
		case f[j] == "sha256":
			e.SHA256 = f[j+1]
		}
	}
	if !e.mismatch() {
		e.Detail = tailString([]byte(text[:i]), 512)
		if e.Detail == "" {
			e.Detail = "no output"
		}
	}
	return e
}

// isUploadRefused reports whether err is the install step refusing an
// upload: of another size or hash, or one that would not decompress.
func isUploadRefused(err error) bool {
	var ue *UploadCheckError
	return errors.As(err, &ue)
}
