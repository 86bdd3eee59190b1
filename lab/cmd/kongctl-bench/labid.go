package main

import "github.com/kongctl/kongctl/lab/labenv"

// setLabID selects the lab (its names, addresses and directory), so the
// benchmark runs beside other labs; a negative id keeps labenv's default.
func setLabID(o *labenv.Options, id int) {
	if id >= 0 {
		o.ID = id
	}
}
