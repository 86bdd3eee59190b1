ssh {
  jump = ["gw", "kong-2"]
# want: 2:10 Unknown jump host: The jump list in the ssh block names "gw"
# want: 2:10 Jump host is not a bastion: The jump list in the ssh block names "kong-2"
}

host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

host "kong-2" {
  address = "10.0.0.12"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
