package cli

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

// CommandTree returns kongctl's command tree, completion command included,
// for generating man pages and shell completions (lab/dist). Its commands
// are not meant to be run: Main runs kongctl.
func CommandTree() *cobra.Command {
	a := &app{streams: &streams{in: os.Stdin, out: io.Discard, err: io.Discard}, getenv: os.Getenv}
	root := a.newRoot()
	root.InitDefaultCompletionCmd()
	return root
}
