package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kongctl/kongctl/agent/agentproto"
)

func TestStageUploadedPackage(t *testing.T) {
	a := testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{
		"dpkg-deb": `printf 'kong\t3.4.2'`,
		"apt-get":  `echo 'Inst kong [2.8.4] (3.4.2 local-deb [amd64])'`,
	})
	up := filepath.Join(t.TempDir(), "kong_3.4.2_amd64.deb")
	data := []byte("not really a deb")
	os.WriteFile(up, data, 0o644)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])

	rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: "upload", UploadedPath: up, SHA256: strings.Repeat("a", 64)}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("bad checksum: %+v", rep.Error)
	}
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: "upload", UploadedPath: up, SHA256: want}))
	res, err := agentproto.DecodeResult[agentproto.StageResult](rep)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(res.Path)
	if err != nil || fi.Mode().Perm() != 0o600 || res.Size != int64(len(data)) || res.SHA256 != want || filepath.Dir(res.Path) != a.packagesDir() {
		t.Fatalf("staged %+v %v %v", res, fi, err)
	}
	if res.Package != "kong" || res.PackageVersion != "3.4.2" || !res.DepsMet {
		t.Fatalf("staged %+v: want kong 3.4.2 read from the file, its dependencies met", res)
	}
	if _, err := os.Stat(up); !os.IsNotExist(err) {
		t.Fatal("uploaded file left behind")
	}
	// Staging the same file again is a no-op.
	os.WriteFile(up, data, 0o644)
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: "upload", UploadedPath: up, SHA256: want}))
	res2, err := agentproto.DecodeResult[agentproto.StageResult](rep)
	if err != nil || !res2.AlreadyDone {
		t.Fatalf("second stage: %+v %v", res2, err)
	}
	// Install refuses a file whose hash changed.
	rep, _ = rpc(t, a, mustReq(t, agentproto.OpPackageInstall, agentproto.InstallParams{Path: res.Path, SHA256: strings.Repeat("b", 64)}))
	if rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("install bad checksum: %+v", rep.Error)
	}
}

// A package an earlier staging left is found by name and hash (a resumed
// run, `kongctl rollback`); anything else is not, and the controller
// uploads it.
func TestStageFindsStagedPackage(t *testing.T) {
	a := testAgent(t)
	fakeTools(t, a, t.TempDir(), map[string]string{
		"dpkg-deb": `printf 'kong\t2.8.4'`,
		"apt-get":  `echo 'Inst kong [3.4.2] (2.8.4 local-deb [amd64])'`,
	})
	const name = "kong_2.8.4_amd64.deb"
	data := []byte("X's package")
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	staged := func(name, sha string) *agentproto.Reply {
		rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: agentproto.SourceStaged, FileName: name, SHA256: sha}))
		return rep
	}
	if rep := staged(name, want); rep.Error == nil || rep.Error.Code != agentproto.CodeNotFound {
		t.Fatalf("nothing staged yet: %+v", rep.Error)
	}
	up := filepath.Join(t.TempDir(), name)
	os.WriteFile(up, data, 0o644)
	if rep, _ := rpc(t, a, mustReq(t, agentproto.OpPackageStage, agentproto.StageParams{Source: agentproto.SourceUpload, UploadedPath: up, SHA256: want})); rep.Error != nil {
		t.Fatalf("stage the upload: %+v", rep.Error)
	}
	res, err := agentproto.DecodeResult[agentproto.StageResult](staged(name, want))
	if err != nil {
		t.Fatal(err)
	}
	if !res.AlreadyDone || res.Path != filepath.Join(a.packagesDir(), name) || res.Size != int64(len(data)) || res.Package != "kong" || res.PackageVersion != "2.8.4" || !res.DepsMet {
		t.Fatalf("found %+v: want the staged file, read again", res)
	}
	if rep := staged(name, strings.Repeat("c", 64)); rep.Error == nil || rep.Error.Code != agentproto.CodeChecksumMismatch {
		t.Fatalf("another hash: %+v", rep.Error)
	}
	if rep := staged("../"+name, want); rep.Error == nil {
		t.Fatal("a name outside packages/ was looked up")
	}
}

// Package versions are ordered by rpm itself, not by a hand-written rule
// (3.10 after 3.4, a release suffix counts, el8 before el9).
func TestRpmVercmp(t *testing.T) {
	run := newOpRun(testAgent(t), nil)
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"3.4.2-1", "2.8.4-1", 1},
		{"2.8.4-1", "3.4.2-1", -1},
		{"3.10.0.2-1", "3.4.3.5-1", 1},
		{"3.4.3.5-1", "3.10.0.2-1", -1},
		{"3.4.2-1", "3.4.2-1", 0},
		{"3.4.2-1.el8", "3.4.2-1.el9", -1},
		{"3.4.2~rc1-1", "3.4.2-1", -1}, // rpm: a tilde sorts before anything
	} {
		got, err := rpmVercmp(context.Background(), run, c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("rpmVercmp(%q, %q) = %d %v, want %d", c.a, c.b, got, err, c.want)
		}
	}
	if _, err := rpmVercmp(context.Background(), run, "3.4.2'); os.exit(1) --", "3.4.2-1"); agentproto.CodeOf(err) != agentproto.CodeInvalid {
		t.Fatalf("a version with a quote: %v, want invalid", err)
	}
}

// An op run at a lower priority runs its commands under nice.
func TestOpRunNice(t *testing.T) {
	a := testAgent(t)
	r := newOpRun(a, nil)
	r.nice = 10
	res, err := r.exec(context.Background(), cmdSpec{Args: []string{"sh", "-c", "cut -d' ' -f19 /proc/$$/stat"}})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "10" {
		t.Fatalf("nice of the command: %q %v", res.Stdout, err)
	}
	r.nice = 0
	res, _ = r.exec(context.Background(), cmdSpec{Args: []string{"sh", "-c", "cut -d' ' -f19 /proc/$$/stat"}})
	if strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Fatalf("nice without it: %q", res.Stdout)
	}
}
