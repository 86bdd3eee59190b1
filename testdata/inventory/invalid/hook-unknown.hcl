host "kong-1" {
  address = "10.0.0.11"
  roles   = ["kong"]
}

hook "before_stopp" {
# want: 6:6 Unknown hook event: "before_stopp" is not a hook event. Did you mean "before_stop"?
  command = "true"
  on      = "kong-9"
# want: 9:13 Unknown hook target: on = "kong-9" names neither a host nor a group. Did you mean "kong-1"?
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
