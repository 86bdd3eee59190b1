host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

host "kong-1" {
# want: 6:6 Duplicate host: A host named "kong-1" was already declared at duplicate-host.hcl:1:6.
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
