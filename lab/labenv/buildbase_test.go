package labenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildBase: a checkout the lab's hosts can see keeps its labs in
// build/; one they cannot see (under /tmp, /home, ...) gets a directory of
// its own outside those, and mk/lab.mk (scripts/lab-base.sh) agrees.
func TestBuildBase(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ root, want string }{
		{"/work/ci", "/work/ci/build"},
		{"/tmp/ci", ""},
		{"/home/op/kongctl", ""},
		{"/root/src/kongctl", ""},
	} {
		got := BuildBase(tc.root)
		if tc.want != "" && got != tc.want {
			t.Errorf("BuildBase(%s) = %s, want %s", tc.root, got, tc.want)
		}
		if tc.want == "" && (!strings.HasPrefix(got, "/kongctl-lab/") || hiddenTop(got) != "") {
			t.Errorf("BuildBase(%s) = %s: want a dir under /kongctl-lab the hosts can see", tc.root, got)
		}
		out, err := exec.Command("sh", filepath.Join(root, "scripts", "lab-base.sh"), tc.root).Output()
		if err != nil {
			t.Fatal(err)
		}
		if sh := strings.TrimSpace(string(out)); sh != got {
			t.Errorf("scripts/lab-base.sh %s = %s, BuildBase = %s", tc.root, sh, got)
		}
	}
	if BuildBase("/tmp/a") == BuildBase("/tmp/b") {
		t.Error("two checkouts share a lab base")
	}
}
