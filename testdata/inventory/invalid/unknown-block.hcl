host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

databse {
# want: 6:1 Unsupported block type: Blocks of type "databse" are not expected here. Did you mean "database"?
  host = "x"
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
