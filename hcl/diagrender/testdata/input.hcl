ssh {
  connect_timeout = "ten seconds"
}

host "kong-1" {
  adress = "10.0.0.11"
  roles  = ["kong"]
}

host "kong-2" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

host "kong-3" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

database {
  host     = "10.0.0.5"
  password = "hunter2"
}

upgrade {
  to = "3.4"
  package {
    source = "file"
    dir    = "packages"
  }
}
