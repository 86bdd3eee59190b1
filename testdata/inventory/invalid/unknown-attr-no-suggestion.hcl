host "kong-1" {
  address  = "10.0.0.11"
  roles    = ["kong"]
  flavour  = "vanilla"
# want: 4:3 Unsupported argument: An argument named "flavour" is not expected here. Valid arguments here are: address, host_key, lb_server, port, roles, tags, user.
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
