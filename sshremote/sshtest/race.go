//go:build race

package sshtest

// raceEnabled: the race detector's shadow memory multiplies a process's
// RSS, so memory bars are scaled under it (see MemoryBar).
const raceEnabled = true
