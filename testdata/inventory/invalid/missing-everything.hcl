# want: 1:1 Missing database block
# want: 1:1 Missing upgrade block
host "db" {
  address = "10.0.0.5"
  roles   = ["database"]
}
