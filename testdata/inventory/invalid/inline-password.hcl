host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host     = "10.0.0.5"
  password = "hunter2"
# want: 8:3 Inline password not allowed: The database password must not be written into the inventory. Use password_env
}

upgrade {
  to = "3.4.2"
  package {
    source = "file"
    dir    = "packages"
  }
}
