host "kong-1" {
  address = "10.0.0.11"
  roles   = ["konq"]
# want: 3:13 Unknown role: "konq" is not a role. Did you mean "kong"?
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
