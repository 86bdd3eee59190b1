host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

group "edge" {
  hosts = ["kong-1", "kong-2"]
# want: 7:11 Unknown host in group: The group "edge" lists "kong-2", but no host of that name is declared. Did you mean "kong-1"?
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
