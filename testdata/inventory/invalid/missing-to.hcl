host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
# want: 11:9 Missing required argument: The argument "to" is required
  from = "2.8.4"
  package {
    source = "file"
    dir    = "packages"
  }
}
