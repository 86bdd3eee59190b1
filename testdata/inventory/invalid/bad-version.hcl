host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host         = "10.0.0.5"
  password_env = "PG"
}

upgrade {
  from = "2.8"
# want: 12:10 Invalid version: "2.8" is not a Kong version.
  to   = "3.4.2.1"
# want: 14:10 Invalid version: Kong Gateway (OSS) versions have three numbers
  package {
    source = "file"
    dir    = "packages"
  }
}
