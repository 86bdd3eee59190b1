package faults

import "github.com/kongctl/kongctl/lab/labenv"

// LabOptions is the lab the fault matrix runs on: the default 3-node OSS
// 2.8.4 lab (upgraded to 3.4.2).
func LabOptions() labenv.Options {
	return labenv.Options{ID: 3, Nodes: 3}
}
