host "kong-1" {
  adress = "10.0.0.11"
# want: 2:3 Unsupported argument: An argument named "adress" is not expected here. Did you mean "address"?
  roles  = ["kong"]
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
