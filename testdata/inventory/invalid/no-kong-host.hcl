# want: 1:1 No Kong nodes: The inventory declares no host with role "kong"
host "db" {
  address = "10.0.0.5"
  roles   = ["database"]
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
