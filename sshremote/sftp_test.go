package sshremote

import "testing"

func TestSFTPPacketSize(t *testing.T) {
	openssh := func(name string) (string, bool) { return "1", name == "limits@openssh.com" }
	other := func(name string) (string, bool) { return "1", name == "posix-rename@openssh.com" }
	if got := sftpPacketSize(openssh); got != 256<<10-1024 {
		t.Errorf("with limits@openssh.com: %d, want %d", got, 256<<10-1024)
	}
	if got := sftpPacketSize(other); got != 32<<10 {
		t.Errorf("without limits@openssh.com: %d, want %d", got, 32<<10)
	}
	for packet, want := range map[int]int{32 << 10: 256 << 10, 256<<10 - 1024: 4 * (256<<10 - 1024), 2 << 20: 2 << 20} {
		if got := uploadBufSize(packet); got != want {
			t.Errorf("uploadBufSize(%d) = %d, want %d", packet, got, want)
		}
	}
}
