host "db" {
  address = "10.0.0.5"
  roles   = ["database"]
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
  to             = "3.4.2"
  migration_host = "db"
# want: 18:20 Migration host is not a Kong node: migration_host "db"
  package {
    source = "file"
    dir    = "packages"
  }
}
