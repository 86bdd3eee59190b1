host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

hook "before_stop" {
  command           = "true"
  continue_on_error = "sometimes"
# want: 8:23 a bool is required
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
