host "kong-1" {
  address = var.kong_addr
# want: 2:16 Unsupported attribute: This object does not have an attribute named "kong_addr"
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
