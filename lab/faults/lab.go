package faults

import (
	"os"
	"strconv"

	"github.com/kongctl/kongctl/lab/labenv"
)

// LabOptions is the lab the fault matrix runs on: the default 3-node OSS
// 2.8.4 lab (upgraded to 3.4.2), lab ID 3 unless KONGCTL_FAULTS_LAB_ID
// names another (to run beside a matrix already running on lab 3).
func LabOptions() labenv.Options {
	id := 3
	if v, err := strconv.Atoi(os.Getenv("KONGCTL_FAULTS_LAB_ID")); err == nil && v >= 0 {
		id = v
	}
	return Topology("").Options(id)
}
