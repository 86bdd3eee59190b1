host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

hook "after_stop" {
  command  = "true"
  per_node = true
# want: 8:14 per_node applies to before_stop
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
