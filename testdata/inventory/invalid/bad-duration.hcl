ssh {
  connect_timeout = "10 seconds"
# want: 2:21 Invalid duration: The argument "connect_timeout" must be a duration
}

host "kong-1" {
  address = "10.0.0.11"
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
